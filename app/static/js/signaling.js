// The Socket.IO connection to the /call namespace. The server decides the room from `auth`.
// The Socket.IO client (vendor/socket.io/socket.io.min.js) is loaded as a classic script first.

// `auth()` is asked again at every reconnection: it says how this page's peer connection is.
export function connectSignaling(auth) {
  return window.io("/call", {
    auth: (callback) => callback(auth()),
    transports: ["websocket"],
    reconnectionDelay: 250,
    reconnectionDelayMax: 2000,
  });
}

// { iceServers, ttl }: ttl is how many seconds the TURN credentials last (null without TURN).
export async function fetchIceServers(token) {
  const url = token ? `/call/ice-servers?token=${encodeURIComponent(token)}` : "/call/ice-servers";
  try {
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) return { iceServers: [], ttl: null };
    const { iceServers, ttl = null } = await response.json();
    return { iceServers, ttl };
  } catch {
    return { iceServers: [], ttl: null };
  }
}

// Asks for fresh TURN credentials before they expire (at 80 % of their life), for as long as
// the page lives, and hands each new list to `apply`; a failed request tries again sooner.
export function keepIceServersFresh(token, { ttl }, apply) {
  if (!ttl) return;
  const schedule = (seconds) => setTimeout(async () => {
    const fresh = await fetchIceServers(token);
    if (fresh.iceServers.length) apply(fresh.iceServers);
    schedule(fresh.ttl ? fresh.ttl * 0.8 : Math.min(ttl * 0.1, 30));
  }, Math.max(1, seconds) * 1000);
  schedule(ttl * 0.8);
}
