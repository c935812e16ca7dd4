"""Reading n8n's replies, and classifying its HTTP statuses, without any network."""

from __future__ import annotations

import pytest

from shared.services.relay import RelayError, parse_response


def reply(
    body: bytes, content_type: str = "application/json", status: int = 200
) -> tuple[str, float | None, str | None]:
    parsed = parse_response(status, content_type, body)
    return parsed.text, parsed.confidence, parsed.topic


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b'{"output": "A", "text": "B"}', "application/json", ("A", None, None)),
        (b'{"output": "", "text": "B"}', "application/json", ("B", None, None)),
        (b'{"message": "C", "response": "D"}', "application/json", ("C", None, None)),
        (
            b'{"response": "D", "confidence": 0.5, "topic": "  billing "}',
            "application/json",
            ("D", 0.5, "billing"),
        ),
        (b'{"output": "E", "confidence": true}', "application/json", ("E", None, None)),
        (b'{"output": "E", "confidence": -0.1}', "application/json", ("E", None, None)),
        (b'[{"output": "F"}, {"output": "G"}]', "application/json", ("F", None, None)),
        (b'["just a string"]', "application/json", ("just a string", None, None)),
        (b"  plain  ", "text/plain; charset=utf-8", ("plain", None, None)),
        (b"**md**", "text/markdown", ("**md**", None, None)),
        (b'{"output": "no content type"}', "", ("no content type", None, None)),
        (
            b'{"type":"begin"}\n{"type":"item","content":"a"}\n\n{"type":"item","content":"b"}\n{"type":"end"}',
            "application/json",
            ("ab", None, None),
        ),
    ],
)
def test_reply_forms(body: bytes, content_type: str, expected: tuple[str, float | None, str | None]) -> None:
    assert reply(body, content_type) == expected


@pytest.mark.parametrize(
    ("status", "body", "content_type", "error_type"),
    [
        (404, b'{"code":404,"message":"not registered"}', "application/json", "not_registered"),
        (500, b'{"message":"Error in workflow"}', "application/json", "workflow_error"),
        (500, b"Internal Server Error", "text/plain", "http_5xx"),
        (502, b"<html>Bad gateway</html>", "text/html", "http_5xx"),
        (401, b"", "", "http_4xx"),
        (302, b"", "", "invalid_response"),
        (200, b"", "application/json", "invalid_response"),
        (200, b"   ", "text/plain", "invalid_response"),
        (200, b"[]", "application/json", "invalid_response"),
        (200, b"{broken", "application/json", "invalid_response"),
        (200, b'{"data": []}', "application/json", "invalid_response"),
        (200, b'{"output": {"nested": "object"}}', "application/json", "invalid_response"),
        (200, b"<html><body>n8n</body></html>", "text/html", "invalid_response"),
        (200, b'{"executionStarted": true}', "application/json", "unsupported_response"),
        (200, b'{"message": "Workflow was started"}', "application/json", "unsupported_response"),
        (200, b'{"type":"begin"}\n{"type":"end"}', "application/json", "invalid_response"),
        (200, b'{"type":"begin"}\n{"type":"error","content":"boom"}', "application/json", "workflow_error"),
    ],
)
def test_failures_are_classified(status: int, body: bytes, content_type: str, error_type: str) -> None:
    with pytest.raises(RelayError) as caught:
        parse_response(status, content_type, body)
    assert caught.value.error_type == error_type
