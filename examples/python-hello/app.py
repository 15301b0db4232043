"""A Switchboard connector in Python, for the fictional chat provider "Chatline".

Built into a WebAssembly component by componentize-py against the contract in ../../sdk/wit,
world `plugin`:

    componentize-py -d ../../sdk/wit -w plugin componentize app -o dist/python-hello.wasm

- Webhook: Chatline POSTs one message as JSON,
      {"id": "m-1", "from": {"id": 9007199254740993123, "name": "Ann Lee"},
       "text": "Hello", "timestamp": 1795570000}
  signed with `X-Chatline-Signature: sha256=<hex HMAC-SHA256 of the raw body>` under the config
  value `webhook_secret`. The timestamp must be within `tolerance_secs` (default 300) of when the
  host received the request (`received-at`, which a replay keeps).
- Send: `POST {api_base}/v1/messages` with `{"to": "<user id>", "text": "..."}` and
  `Authorization: Bearer <api_token>`; Chatline answers `{"id": "..."}`.

Config: `webhook_secret`, `api_token`, `api_base` (default https://api.chatline.example),
`tolerance_secs` (default 300).

How componentize-py 0.25 maps the WIT:
- the export `connector` is a class `Connector` in this module (the app module named on the
  command line), subclassing `wit_world.exports.Connector`; functions are snake_case methods;
- records are dataclasses, enums are `Enum`s, flags are `Flag`s, `option<T>` is `T` or `None`,
  `list<u8>` is `bytes`, `s64` (our `timestamp`) is `int`;
- a variant case is a class named `<Variant>_<Case>` holding `value`
  (`Identifier_External(ExternalId(...))`, `Event_Interaction(Interaction(...))`);
- `result<T, E>`: return T for `ok`; raise `componentize_py_types.Err(E)` for `err`, e.g.
  `raise Err(ConnectorError_Unauthorized("..."))`. Any other exception traps the call (its
  traceback goes to stderr, which the host keeps, bounded). Imported functions raise `Err` too.
"""

import hashlib
import hmac
import json
import time

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host
from wit_world.imports.switchboard_connector_types import (
    Capabilities,
    ConnectorError_BadRequest,
    ConnectorError_Config,
    ConnectorError_Transient,
    ConnectorError_Unauthorized,
    ConnectorError_Unsupported,
    Contact,
    ContactPoint,
    ConnectorManifest,
    Direction,
    Event_Interaction,
    ExternalId,
    HttpRequest,
    HttpResponse,
    Identifier_External,
    Interaction,
    InteractionKind,
    OutboundMessage,
    Provenance,
    Receipt,
    WebhookOutcome,
)

import http_client

NAMESPACE = "chatline:user"
CHANNEL = "chat"
DEFAULT_API_BASE = "https://api.chatline.example"
DEFAULT_TOLERANCE_SECS = 300


def bad_request(message: str) -> Err:
    return Err(ConnectorError_BadRequest(message))


def unauthorized(message: str) -> Err:
    return Err(ConnectorError_Unauthorized(message))


def config_error(message: str) -> Err:
    return Err(ConnectorError_Config(message))


def log(level: host.LogLevel, message: str) -> None:
    """Logs through the host; a refused line (quota) must not fail the call."""
    try:
        host.log(level, message)
    except Err:
        pass


def require_config(key: str) -> str:
    value = host.config(key)
    if not value:
        raise config_error(f"config value `{key}` is not set")
    return value


def tolerance_secs() -> int:
    text = host.config("tolerance_secs")
    if text is None:
        return DEFAULT_TOLERANCE_SECS
    if not text.strip().isdigit() or int(text.strip()) <= 0:
        raise config_error(f"tolerance_secs must be a positive number of seconds, not `{text}`")
    return int(text.strip())


def header(request: HttpRequest, name: str):
    wanted = name.lower()
    return next((h.value for h in request.headers if h.name.lower() == wanted), None)


def verify_signature(request: HttpRequest) -> None:
    secret = require_config("webhook_secret")
    value = header(request, "X-Chatline-Signature")
    if value is None:
        raise unauthorized("missing X-Chatline-Signature")
    value = value.strip()
    try:
        if not value.startswith("sha256="):
            raise ValueError
        given = bytes.fromhex(value[len("sha256="):])
    except ValueError:
        raise unauthorized("X-Chatline-Signature is not `sha256=<hex>`") from None
    expected = hmac.new(secret.encode(), request.body, hashlib.sha256).digest()
    # Constant time: the comparison does not stop at the first differing byte.
    if not hmac.compare_digest(given, expected):
        raise unauthorized("X-Chatline-Signature does not match the body under webhook_secret")


def integer_text(value, what: str) -> str:
    """The exact decimal text of an integer field (a JSON number or digits in a string).

    Python's json reads integers as `int`, which has no size limit: 9007199254740993123 stays
    exact (JavaScript's JSON.parse would round it to a double). `bool` is an `int` too, and a
    float such as 9.007199254740993e18 is not an exact id: both are refused.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    digits = value[1:] if isinstance(value, str) and value.startswith("-") else value
    if isinstance(digits, str) and digits.isascii() and digits.isdigit():
        return value
    raise bad_request(f"{what} is not an integer")


def parse_message(body: bytes) -> dict:
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad_request("the body is not UTF-8") from None
    except ValueError as e:
        raise bad_request(f"the body is not JSON: {e}") from None
    if not isinstance(data, dict):
        raise bad_request("the body is not a JSON object")
    message_id, sender, text = data.get("id"), data.get("from"), data.get("text")
    if not isinstance(message_id, str) or not message_id:
        raise bad_request("`id` is not a non-empty string")
    if not isinstance(sender, dict):
        raise bad_request("`from` is not an object")
    name = sender.get("name")
    if name is not None and not isinstance(name, str):
        raise bad_request("`from.name` is not a string")
    if not isinstance(text, str):
        raise bad_request("`text` is not a string")
    return {
        "id": message_id,
        "from_id": integer_text(sender.get("id"), "`from.id`"),
        "from_name": name or None,
        "text": text,
        "timestamp": int(integer_text(data.get("timestamp"), "`timestamp`")),
    }


def check_window(request: HttpRequest, timestamp_secs: int) -> None:
    """Refuses a message whose timestamp is outside the window around its reception."""
    tolerance = tolerance_secs()
    # `received_at` (ms) is when the host first received the request; a replay of a dead
    # letter keeps it, so the check does not depend on when the replay runs.
    received_ms = request.received_at if request.received_at > 0 else time.time_ns() // 1_000_000
    age = received_ms // 1000 - timestamp_secs
    # A timestamp far in the future is refused too: it would let a captured request be
    # replayed until then.
    if abs(age) > tolerance:
        raise unauthorized(
            f"the message timestamp is {age} s from when it was received, "
            f"outside the {tolerance} s tolerance"
        )


def error_for_status(status: int, body: bytes) -> Err:
    message = f"Chatline answered {status}: {body[:300].decode('utf-8', 'replace')}"
    if status == 429 or status >= 500:
        return Err(ConnectorError_Transient(message))
    if status in (401, 403):
        return Err(ConnectorError_Config(message))
    return Err(ConnectorError_BadRequest(message))


class Connector(exports.Connector):
    def manifest(self) -> ConnectorManifest:
        return ConnectorManifest(
            id="python-hello",
            version="0.1.0",
            display_name="Chatline (Python example)",
            channels=[CHANNEL],
            capabilities=Capabilities.WEBHOOK | Capabilities.SEND,
            namespaces=[NAMESPACE],
        )

    def handle_webhook(self, request: HttpRequest) -> WebhookOutcome:
        if request.method != "POST":
            raise bad_request(f"unexpected method {request.method}")
        # The signature first: nothing of an unauthenticated body is looked at.
        verify_signature(request)
        message = parse_message(request.body)
        check_window(request, message["timestamp"])
        log(host.LogLevel.DEBUG, f"message {message['id']} from {NAMESPACE}:{message['from_id']}")
        contact = Contact(
            identifiers=[
                ContactPoint(
                    identifier=Identifier_External(ExternalId(NAMESPACE, message["from_id"])),
                    provenance=Provenance.VERIFIED,
                )
            ],
            display_name=message["from_name"],
            given_name=None,
            family_name=None,
            locale=None,
            attributes=[],
        )
        interaction = Interaction(
            provider_id=message["id"],
            kind=InteractionKind.MESSAGE,
            direction=Direction.INBOUND,
            contact=contact,
            channel=CHANNEL,
            thread_id=None,
            subject=None,
            text=message["text"],
            occurred_at=message["timestamp"] * 1000,
            status=None,
            attachments=[],
            attributes=[],
        )
        return WebhookOutcome(
            response=HttpResponse(status=200, headers=[], body=b""),
            events=[Event_Interaction(interaction)],
        )

    def poll(self, cursor):
        raise Err(ConnectorError_Unsupported("Chatline pushes messages by webhook; there is nothing to poll"))

    def send(self, message: OutboundMessage) -> Receipt:
        to = next(
            (
                i.value.value
                for i in message.to
                if isinstance(i, Identifier_External) and i.value.namespace == NAMESPACE
            ),
            None,
        )
        if to is None:
            raise bad_request(f"the customer has no {NAMESPACE} id")
        token = require_config("api_token")
        base = (host.config("api_base") or DEFAULT_API_BASE).rstrip("/")
        try:
            # `to` stays the exact text of the id.
            response = http_client.request(
                "POST",
                f"{base}/v1/messages",
                [("Content-Type", "application/json"), ("Authorization", f"Bearer {token}")],
                json.dumps({"to": to, "text": message.text}, ensure_ascii=False).encode(),
            )
        except http_client.HttpError as e:
            if e.refused:
                raise config_error(f"Chatline: {e}") from None
            raise Err(ConnectorError_Transient(f"Chatline could not be reached: {e}")) from None
        if not 200 <= response.status <= 299:
            raise error_for_status(response.status, response.body)
        try:
            provider_id = json.loads(response.body).get("id")
        except (ValueError, AttributeError):
            provider_id = None
        if isinstance(provider_id, int) and not isinstance(provider_id, bool):
            provider_id = str(provider_id)
        if not isinstance(provider_id, str) or not provider_id:
            raise bad_request(
                "Chatline accepted the message but answered no id: "
                + response.body[:300].decode("utf-8", "replace")
            )
        return Receipt(
            provider_id=provider_id,
            thread_id=None,
            status="sent",
            sent_at=time.time_ns() // 1_000_000,
        )

    def geocode(self, address):
        raise Err(ConnectorError_Unsupported("Chatline does not geocode"))
