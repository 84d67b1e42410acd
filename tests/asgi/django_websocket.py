"""A plain ASGI WebSocket app standing in for a project's Channels consumer."""

from __future__ import annotations

from strangler.asgi import Receive, Scope, Send


async def echo_websocket(scope: Scope, receive: Receive, send: Send) -> None:
    """Accept, echo every message prefixed with ``django:``, close with the client's code."""
    assert scope["type"] == "websocket"
    message = await receive()
    assert message["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": "django:" + message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": b"django:" + message["bytes"]})
