"""Video calls (CESCO Remoto): the call's rules and who is connected where.

- `sessions`: who may join when, the waiting room, admitting, the call record (`CallSession`).
- `presence`: which citizen and clerk sockets are in which appointment's room (one process, or
  shared through Redis when several processes share a message queue).
- `admission`: admitting a waiting citizen, from the console's POST or the call screen's socket.
- `live`: what the server pushes to the browsers of a call and to the clerks' console.
"""
