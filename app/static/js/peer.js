// One RTCPeerConnection with perfect negotiation (webrtc/samples), plus the first-offer rule:
// the polite peer (citizen) never offers until it has answered the impolite peer's (clerk's)
// first offer, because two simultaneous first offers can hang Chromium's ICE gathering.

export function createPeer({ socket, polite, iceServers, localStream, onTrack, onStateChange }) {
  // ICE_TRANSPORT_POLICY=relay (data-ice-transport-policy on the page): TURN-relayed paths only.
  const iceTransportPolicy = document.querySelector("[data-call]")?.dataset.iceTransportPolicy || "all";
  const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy });
  let makingOffer = false;
  let ignoreOffer = false;
  let answeredFirstOffer = !polite;
  let closed = false;

  for (const track of localStream?.getTracks() ?? []) pc.addTrack(track, localStream);

  pc.ontrack = ({ track, streams }) => onTrack(streams[0] ?? new MediaStream([track]));
  pc.onicecandidate = ({ candidate }) => socket.emit("signal", { candidate: candidate ? candidate.toJSON() : null });
  pc.onconnectionstatechange = () => {
    onStateChange?.(pc.connectionState);
    // The impolite side restarts ICE when the path is lost; the polite side follows its offer.
    if (pc.connectionState === "failed" && !polite) pc.restartIce();
  };
  pc.onnegotiationneeded = async () => {
    if (!answeredFirstOffer || closed) return;
    try {
      makingOffer = true;
      await pc.setLocalDescription();
      socket.emit("signal", { description: { type: pc.localDescription.type, sdp: pc.localDescription.sdp } });
    } catch (error) {
      console.warn("negotiation failed", error);
    } finally {
      makingOffer = false;
    }
  };

  async function handleSignal({ description, candidate }) {
    if (closed) return;
    try {
      if (description) {
        const offerCollision = description.type === "offer" && (makingOffer || pc.signalingState !== "stable");
        ignoreOffer = !polite && offerCollision;
        if (ignoreOffer) return;
        await pc.setRemoteDescription(description);
        if (description.type === "offer") {
          await pc.setLocalDescription();
          socket.emit("signal", { description: { type: pc.localDescription.type, sdp: pc.localDescription.sdp } });
          answeredFirstOffer = true;
        }
      } else if (candidate !== undefined) {
        try {
          await pc.addIceCandidate(candidate ?? undefined);
        } catch (error) {
          if (!ignoreOffer) throw error;
        }
      }
    } catch (error) {
      console.warn("signal handling failed", error);
    }
  }

  return {
    pc,
    handleSignal,
    async replaceTrack(kind, track) {
      const sender = pc.getSenders().find((s) => s.track?.kind === kind || (!s.track && track?.kind === kind));
      if (sender) await sender.replaceTrack(track);
    },
    close() {
      closed = true;
      pc.ontrack = pc.onicecandidate = pc.onconnectionstatechange = pc.onnegotiationneeded = null;
      pc.close();
    },
  };
}

// The connection quality as the person sees it, from getStats: the round-trip time of the pair in
// use (transport.selectedCandidatePairId) and the video packets lost since the previous reading
// (loss since the start would hide a bad minute in a long good call). Returns an async reader:
// "good" | "fair" | "poor" | "unknown" (no pair in use yet).
export function createQualityMeter(pc) {
  let previous = { lost: 0, received: 0 };
  return async function readQuality() {
    const stats = await pc.getStats();
    let pairId = null;
    let lost = 0;
    let received = 0;
    stats.forEach((report) => {
      if (report.type === "transport" && report.selectedCandidatePairId) pairId = report.selectedCandidatePairId;
      if (report.type === "inbound-rtp" && report.kind === "video") {
        lost += report.packetsLost ?? 0;
        received += report.packetsReceived ?? 0;
      }
    });
    const rtt = pairId ? stats.get(pairId)?.currentRoundTripTime : undefined;
    const lostNow = Math.max(0, lost - previous.lost);
    const total = lostNow + Math.max(0, received - previous.received);
    previous = { lost, received };
    const loss = total > 0 ? lostNow / total : 0;
    if (rtt === undefined) return "unknown";
    if (rtt < 0.3 && loss < 0.02) return "good";
    if (rtt < 0.8 && loss < 0.08) return "fair";
    return "poor";
  };
}
