// Camera and microphone: ask, classify failures, list devices, measure the microphone level.

export const FAILURES = ["NotAllowedError", "NotFoundError", "NotReadableError", "OverconstrainedError", "insecure"];

export async function getLocalMedia({ audio = true, video = true, audioDeviceId, videoDeviceId, facingMode } = {}) {
  if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
    const error = new Error("insecure context");
    error.name = "insecure";
    throw error;
  }
  const videoConstraints = video
    ? { width: { ideal: 640 }, height: { ideal: 480 },
        ...(videoDeviceId ? { deviceId: { exact: videoDeviceId } } : {}),
        ...(facingMode ? { facingMode } : {}) }
    : false;
  const audioConstraints = audio ? (audioDeviceId ? { deviceId: { exact: audioDeviceId } } : true) : false;
  return navigator.mediaDevices.getUserMedia({ audio: audioConstraints, video: videoConstraints });
}

export function failureName(error) {
  return FAILURES.includes(error?.name) ? error.name : "NotReadableError";
}

export async function listDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  return {
    cameras: devices.filter((d) => d.kind === "videoinput"),
    microphones: devices.filter((d) => d.kind === "audioinput"),
    speakers: devices.filter((d) => d.kind === "audiooutput"),
  };
}

// Calls onLevel(0..1) about ten times a second until the returned stop() is called.
export function meterLevel(stream, onLevel) {
  const track = stream.getAudioTracks()[0];
  if (!track || !window.AudioContext) return () => {};
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
  const samples = new Uint8Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getByteTimeDomainData(samples);
    let peak = 0;
    for (const sample of samples) peak = Math.max(peak, Math.abs(sample - 128) / 128);
    onLevel(peak);
  }, 100);
  return () => { clearInterval(timer); context.close(); };
}
