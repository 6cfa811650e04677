// One RTCPeerConnection with perfect negotiation (webrtc/samples), plus this project's rules:
// - the polite peer (citizen) never offers until it has answered the impolite peer's (clerk's)
//   first offer, because two simultaneous first offers can hang Chromium's ICE gathering;
// - a peer is prepared before the pair is complete (the citizen's in the waiting room, the clerk's
//   while its page connects): the clerk's first offer and its candidates wait in an outbox until
//   start(), so they leave the moment the server says the citizen is there;
// - the clerk's connection does not wait for its camera: it offers transceivers and the tracks
//   follow with replaceTrack (no renegotiation).

export function createPeer({ send, polite, iceServers, localStream, onTrack, onStateChange }) {
  // ICE_TRANSPORT_POLICY=relay (data-ice-transport-policy on the page): TURN-relayed paths only.
  const iceTransportPolicy = document.querySelector("[data-call]")?.dataset.iceTransportPolicy || "all";
  const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy });
  const mark = (name) => performance.mark(`call:${name}`);
  let makingOffer = false;
  let ignoreOffer = false;
  let answeredFirstOffer = !polite;
  let closed = false;
  let outbox = polite ? null : [];
  const emit = (data) => (outbox ? outbox.push(data) : send(data));
  const description = () => ({ description: { type: pc.localDescription.type, sdp: pc.localDescription.sdp } });

  if (polite) {
    // addTrack, not addTransceiver: only these transceivers take the offer's m-lines.
    for (const track of localStream.getTracks()) pc.addTrack(track, localStream);
  } else {
    for (const kind of ["audio", "video"]) {
      const track = localStream.getTracks().find((t) => t.kind === kind);
      pc.addTransceiver(track ?? kind, { direction: "sendrecv", streams: [localStream] });
    }
  }

  const remote = new MediaStream();
  pc.ontrack = ({ track, streams }) => {
    if (!streams[0]) remote.addTrack(track);
    onTrack(streams[0] ?? remote);
  };
  pc.onicecandidate = ({ candidate }) => emit({ candidate: candidate ? candidate.toJSON() : null });
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
      emit(description());
      mark(`${pc.localDescription.type}-made`);
    } catch (error) {
      console.warn("negotiation failed", error);
    } finally {
      makingOffer = false;
    }
  };

  async function handleSignal({ description: remoteDescription, candidate }) {
    if (closed) return;
    try {
      if (remoteDescription) {
        const offerCollision = remoteDescription.type === "offer" && (makingOffer || pc.signalingState !== "stable");
        ignoreOffer = !polite && offerCollision;
        if (ignoreOffer) return;
        mark(`${remoteDescription.type}-received`);
        await pc.setRemoteDescription(remoteDescription);
        if (remoteDescription.type === "offer") {
          await pc.setLocalDescription();
          emit(description());
          mark(`${pc.localDescription.type}-sent`);
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
    // In use: the clerk's has sent its offer, the citizen's has taken one.
    get started() { return !closed && (polite ? pc.remoteDescription !== null : outbox === null); },
    // What this page tells the server about its connection (app/calls/presence.py PEER_STATES).
    get state() {
      if (closed || !pc.remoteDescription || pc.connectionState === "closed") return "none";
      return pc.connectionState === "connected" ? "connected" : "broken";
    },
    // The impolite side's go: what waited in the outbox (the offer, its candidates) leaves now.
    start() {
      if (!outbox) return;
      const queued = outbox;
      outbox = null;
      for (const data of queued) send(data);
      if (queued.length) mark("offer-sent");
    },
    restartIce() { pc.restartIce(); },
    // The sender of each kind takes the stream's track of that kind (or none): no renegotiation.
    async useStream(stream) {
      for (const kind of ["audio", "video"]) {
        await this.replaceTrack(kind, stream.getTracks().find((t) => t.kind === kind) ?? null);
      }
    },
    async replaceTrack(kind, track) {
      const transceiver = pc.getTransceivers().find((t) => t.receiver.track.kind === kind);
      if (transceiver && transceiver.sender.track !== track) await transceiver.sender.replaceTrack(track);
    },
    setIceServers(servers) {
      if (!closed) pc.setConfiguration({ ...pc.getConfiguration(), iceServers: servers });
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
