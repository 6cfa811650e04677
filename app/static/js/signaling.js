// The Socket.IO connection to the /call namespace. The server decides the room from `auth`.
// The Socket.IO client (vendor/socket.io/socket.io.min.js) is loaded as a classic script first.

export function connectSignaling(auth) {
  return window.io("/call", {
    auth,
    transports: ["websocket"],
    reconnectionDelay: 500,
    reconnectionDelayMax: 3000,
  });
}

export async function fetchIceServers(token) {
  const url = token ? `/call/ice-servers?token=${encodeURIComponent(token)}` : "/call/ice-servers";
  try {
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) return [];
    return (await response.json()).iceServers;
  } catch {
    return [];
  }
}
