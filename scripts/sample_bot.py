"""A small n8n-compatible webhook for development: `/dev/sample-bot` on the dev runner, never deployed.

It checks the request as n8n's "JWT Auth" credential would (HS256, the widget's secret as passphrase),
answers `loadPreviousSession` like the Chat Trigger, and replies to `sendMessage` from a few FAQ
entries with `output`, `confidence` and `topic`.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import jwt
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from shared.db import Database
from shared.repositories import widgets

router = APIRouter(include_in_schema=False)
PATH = "/dev/sample-bot"

# (keywords, reply, topic, confidence)
FAQ: list[tuple[tuple[str, ...], str, str, float]] = [
    (
        ("hour", "open", "close"),
        "We're open **Monday to Friday, 9:00-18:00** and Saturdays 10:00-14:00.",
        "opening hours",
        0.94,
    ),
    (
        ("deliver", "shipping", "ship"),
        "Delivery costs **€4.90**, and it's free for orders over €50. Most orders arrive in 2-3 days.",
        "delivery",
        0.91,
    ),
    (
        ("price", "cost", "how much"),
        "Our prices are listed on each product page. Anything specific you're looking for?",
        "pricing",
        0.72,
    ),
    (
        ("human", "agent", "person"),
        "I'll let the team know. You can also email us at [hello@demo.example](mailto:hello@demo.example).",
        "handover",
        0.88,
    ),
    (
        ("return", "refund"),
        "You can return anything within **30 days**:\n\n1. Pack the item\n2. Print the label from your account\n3. Drop it at any post office",
        "returns",
        0.9,
    ),
    (
        ("hello", "hi ", "hey"),
        "Hello! Ask me about opening hours, delivery, prices or returns.",
        "greeting",
        0.99,
    ),
]
UNSURE = (
    "I'm only a demo bot, so I don't know that one. Try asking about opening hours, delivery, prices or returns.",
    "other",
    0.3,
)


def answer(text: str) -> dict[str, Any]:
    """The FAQ reply for a message, in n8n's Chat Trigger reply shape."""
    lowered = f"{text.lower()} "
    if "markdown" in lowered:
        return {
            "output": "Here is **bold**, *italic*, `code` and a [link](https://example.com).\n\n- one\n- two",
            "confidence": 0.99,
            "topic": "demo",
        }
    for keywords, reply, topic, confidence in FAQ:
        if any(k in lowered for k in keywords):
            return {"output": reply, "confidence": confidence, "topic": topic}
    reply, topic, confidence = UNSURE
    return {"output": reply, "confidence": confidence, "topic": topic}


@router.post(PATH)
async def sample_bot(request: Request) -> JSONResponse:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return JSONResponse({"message": "No authorization header provided"}, status_code=401)
    db: Database = request.app.state.resources.db
    try:
        widget_id = uuid.UUID(str(jwt.decode(token, options={"verify_signature": False})["sub"]))
        widget = await db.run(widgets.get_widget, widget_id=widget_id)
        if widget is None:
            raise jwt.InvalidTokenError("unknown widget")
        jwt.decode(token, widget.widget_secret.get_secret_value(), algorithms=["HS256"])
    except (jwt.InvalidTokenError, KeyError, ValueError):
        return JSONResponse({"message": "Authorization data is wrong!"}, status_code=403)
    try:
        body = json.loads(await request.body())
    except ValueError:
        return JSONResponse({"message": "Invalid JSON"}, status_code=400)
    if body.get("action") == "loadPreviousSession":
        return JSONResponse({"data": []})
    text = str(body.get("chatInput", ""))
    if "slow" in text.lower():
        await asyncio.sleep(2)  # lets a developer watch the typing indicator
    return JSONResponse(answer(text))
