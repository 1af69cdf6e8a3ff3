"""Telegram updates into the core's `Inbound`, and nothing more.

What to do with an update is the core's decision; this only says what the update
is: a customer's message in a private chat, an agent's message in the staff
group, a button press, an edit, a file, or something to ignore on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Message, Update, User

from adapters.telegram.platform import CHANNEL
from bot.model import Address, Attachment, Identity, Inbound, InboundKind


@dataclass(frozen=True, slots=True)
class Ignored:
    """An update that is ignored on purpose. Nothing is ever said back: a group the
    bot is in may be the staff group the operator is about to configure (its id is
    logged instead, by the channel)."""

    reason: str
    chat_id: int | None = None


_UNSUPPORTED = {
    "sticker": "sticker",
    "location": "location",
    "venue": "place",
    "contact": "contact",
    "poll": "poll",
    "dice": "dice",
    "game": "game",
    "video_note": "video message",
    "animation": "GIF",
    "story": "story",
}


def _name(user: User | None) -> str:
    if user is None:
        return ""
    return " ".join(part for part in (user.first_name, user.last_name) if part) or (
        user.username or ""
    )


def _attachments(message: Message) -> tuple[Attachment, ...]:
    caption = message.caption or ""
    found: list[Attachment] = []
    if message.photo:
        biggest = max(message.photo, key=lambda size: size.width * size.height)
        found.append(Attachment("photo", biggest.file_id, caption))
    if message.document:
        found.append(
            Attachment(
                "document", message.document.file_id, caption, message.document.file_name or ""
            )
        )
    if message.voice:
        found.append(Attachment("voice", message.voice.file_id, caption))
    if message.audio:
        found.append(
            Attachment("audio", message.audio.file_id, caption, message.audio.file_name or "")
        )
    if message.video:
        found.append(
            Attachment("video", message.video.file_id, caption, message.video.file_name or "")
        )
    return tuple(found)


def _thread(message: Message) -> str:
    """Where in the staff group an agent wrote: the forum topic, else the message
    they replied to (the mapping from either to a case is stored by the core)."""
    if message.is_topic_message and message.message_thread_id:
        return str(message.message_thread_id)
    reply = message.reply_to_message
    if reply is not None and not reply.forum_topic_created:
        return str(reply.message_id)
    return ""


def to_inbound(update: Update, *, staff_group_id: int | None = None) -> Inbound | Ignored:
    """The update in the core's words, or why it is ignored."""
    if update.callback_query is not None:
        query = update.callback_query
        message = query.message
        if query.from_user.is_bot or not isinstance(message, Message):
            return Ignored("a button on a message the bot no longer has")
        chat = message.chat
        address = Address(CHANNEL, str(chat.id), private=chat.type == "private")
        if staff_group_id is not None and chat.id == staff_group_id:
            address = Address(CHANNEL, str(chat.id), _thread(message))
        elif chat.type != "private":
            return Ignored("a button in a group", chat.id)
        return Inbound(
            key=f"cb:{query.id}",
            identity=Identity(CHANNEL, "", str(query.from_user.id)),
            address=address,
            kind=InboundKind.BUTTON,
            payload=query.data or "",
            display_name=_name(query.from_user),
            language_hint=query.from_user.language_code or "",
        )

    if update.my_chat_member is not None:
        # added to, or removed from, a chat (or blocked by a customer)
        return Ignored("the bot's membership of a chat changed", update.my_chat_member.chat.id)
    message = update.message or update.edited_message
    edited = update.edited_message is not None
    if message is None:
        if update.channel_post or update.edited_channel_post:
            return Ignored("a channel post")
        return Ignored("an update the bot does not use")
    user = message.from_user
    chat = message.chat
    if user is None or message.sender_chat is not None:
        return Ignored("sent on behalf of a chat, not a person", chat.id)
    if user.is_bot:
        return Ignored("from a bot")
    staff = staff_group_id is not None and chat.id == staff_group_id
    if not staff and chat.type != "private":
        return Ignored("a group that is not the staff group", chat.id)
    if staff and (message.forum_topic_created or message.forum_topic_edited):
        return Ignored("a forum service message")

    identity = Identity(CHANNEL, "", str(user.id))
    # a private chat is the customer's alone; a group (the staff group) is shared
    address = Address(
        CHANNEL, str(chat.id), _thread(message) if staff else "", private=chat.type == "private"
    )
    key = f"{chat.id}:{message.message_id}"
    base = {
        "identity": identity,
        "address": address,
        "display_name": _name(user),
        "language_hint": user.language_code or "",  # the user's app language: a hint only
    }
    if edited:
        stamp = int(message.edit_date.timestamp()) if message.edit_date else 0
        return Inbound(
            key=f"{key}:edit:{stamp}",
            kind=InboundKind.EDIT,
            text=message.text or message.caption or "",
            edited_key=key,
            **base,  # type: ignore[arg-type]
        )
    attachments = _attachments(message)
    if attachments:
        return Inbound(
            key=key,
            kind=InboundKind.ATTACHMENT,
            text=message.caption or "",
            attachments=attachments,
            **base,  # type: ignore[arg-type]
        )
    if message.text is not None:
        return Inbound(key=key, kind=InboundKind.MESSAGE, text=message.text, **base)  # type: ignore[arg-type]
    what = next((label for attr, label in _UNSUPPORTED.items() if getattr(message, attr, None)), "")
    if not what:
        return Ignored("a service message")
    return Inbound(key=key, kind=InboundKind.OTHER, text=what, **base)  # type: ignore[arg-type]
