"""Keys typed in one burst land where they would land typed one at a time, in order.

Textual routes a key to the widget that has focus at the moment the App takes the key off
its queue (``App.on_event``: ``forward_target = self.focused or self.screen``). What a key
*does* happens later, in other queues: the key goes through the focused widget's queue,
bubbles back up to the App's queue where its (non-priority) binding runs — a Tab moves the
focus, `n` pushes the order ticket, Enter dismisses a form —, a pushed screen composes and
mounts in its own task, ``Widget.focus()`` applies through another App callback, and a
screen's result callback runs after that. Keys that arrive together (a paste, a laggy SSH
link, a macro) are all on the App's queue before any of this: each is routed by the focus
*before* the burst, and the bindings of the ones that bubble back are looked up against
whatever has focus by then. A ticket typed in one burst ends up as "AAPLbuy2" in its first
field, or its keys reach the main screen while the ticket is still mounting.

`OrderedKeys` lets one key in at a time: the next key waits until the one before it has been
handled all the way (its widget, each node it may bubble to, the App) and until what it
started has settled (a screen pushed or popped is mounted and has its focus, the result
callbacks have run). Held keys keep their order; none is dropped or repeated. This applies
to every screen of the desk, modal or not. What a key starts in a worker (the desk's
flows, `vanta_tui.ui.flows`: the rebalance preview reads the files, the dead letters read
the journal, a ticket's Enter leads to its confirmation) runs in the `DIALOG_GROUP`: the
next key waits for that worker too, so `d x` dismisses in the dead-letter view instead of
rejecting the queue's order beneath it. A worker lets the keys go on while it waits for
the operator (its dialog is up and not yet answered: the next keys are the answer) or
while its action runs in the background (`let_keys_go`); once its dialog is answered, the
keys wait again until it has put up its next dialog or let them go.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.message_pump import MessagePump
from textual.worker import Worker, WorkerState, get_current_worker

log = logging.getLogger(__name__)

KEY_SETTLE_S = 5.0
"""A key that has not settled in this long lets the next one go (a bug must not eat input)."""
DIALOG_GROUP = "dialog"
"""Workers that open a dialog when they are done; a key waits for them to settle."""
SETTLE_ROUNDS = 20
"""At most this many rounds of screen changes that one key may set off."""


async def handled(node: MessagePump) -> None:
    """Wait until ``node`` has handled every message that was on its queue (or it closed).

    A screen handles its queue only after its compose and mount, so this also waits for a
    pushed screen to be mounted."""
    done = asyncio.Event()
    if not node.call_later(done.set):
        return  # closing or closed: it will handle nothing more
    while not done.is_set():
        if node._closing or node._closed:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 0.05)


def _is_key(message: Message) -> bool:
    """A key or a paste that reaches the App first (not one a widget passed back up)."""
    return isinstance(message, events.Key | events.Paste) and not message.is_forwarded


class OrderedKeys(App[int]):
    """An App that hands keys (and pastes) on one at a time; see the module's docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._keys_held: deque[events.Event] = deque()
        self._keys_queued = 0
        """Keys posted to the App and not yet taken off its queue."""
        self._keys_queued_lock = threading.Lock()
        self._key_busy = False
        self._key_released: events.Event | None = None
        self._key_settling: asyncio.Task[None] | None = None
        self._keys_go: dict[Worker[Any], Callable[[], bool]] = {}
        """Dialog workers that let the keys go on while their condition holds."""

    @property
    def keys_pending(self) -> int:
        """Keys received but not yet settled (tests wait for 0): still on the App's queue,
        held back, or being handled."""
        return self._keys_queued + len(self._keys_held) + self._key_busy

    def post_message(self, message: Message) -> bool:
        posted = super().post_message(message)
        if posted and _is_key(message):
            with self._keys_queued_lock:
                self._keys_queued += 1
        return posted

    async def on_event(self, event: events.Event) -> None:
        if not _is_key(event):
            await super().on_event(event)
            return
        with self._keys_queued_lock:
            self._keys_queued = max(self._keys_queued - 1, 0)
        if event is not self._key_released and (self._key_busy or self._keys_held):
            self._keys_held.append(event)
            return
        self._key_released = None
        self._key_busy = True
        target: MessagePump
        try:
            target = self.focused or self.screen
        except Exception:  # no screen yet
            target = self
        try:
            await super().on_event(event)
        finally:
            self._key_settling = asyncio.create_task(self._settle(target))

    async def _settle(self, target: MessagePump) -> None:
        try:
            await asyncio.wait_for(self._key_done(target), KEY_SETTLE_S)
        except TimeoutError:
            log.warning("a key did not settle in %s s; the next key goes on", KEY_SETTLE_S)
        except Exception:
            log.exception("waiting for a key to settle failed; the next key goes on")
        finally:
            self._release_next()

    async def _key_done(self, target: MessagePump) -> None:
        # The key's own way: the widget it went to, each node it may bubble to, the App
        # (where its binding, if any, ran). A node passes the key to its parent's queue while
        # handling it, so waiting for each in turn from the bottom up sees it through.
        node: MessagePump | None = target
        while node is not None:
            await handled(node)
            node = node._parent
        # What the key set off: a worker preparing a dialog, screens pushed or popped (each
        # mounted, with its focus), result callbacks (which may push the next screen), focus
        # set through the App's queue.
        for _ in range(SETTLE_ROUNDS):
            while self._dialog_pending():
                await asyncio.sleep(0.01)
            stack, focused = self.screen_stack, self.focused
            await handled(self.screen)
            await handled(self)
            if (
                self.screen_stack == stack
                and self.focused is focused
                and not self._dialog_pending()
            ):
                return

    def let_keys_go(self, when: Callable[[], bool] | None) -> None:
        """The dialog worker calling this lets the next key go while ``when()`` holds (its
        dialog is up and unanswered, its action runs in the background); None: keys wait
        for it again (until it ends)."""
        worker = get_current_worker()
        if when is None:
            self._keys_go.pop(worker, None)
        else:
            self._keys_go[worker] = when

    def _dialog_pending(self) -> bool:
        running = (WorkerState.PENDING, WorkerState.RUNNING)
        for worker in list(self._keys_go):
            if worker.state not in running:
                del self._keys_go[worker]
        return any(
            w.group == DIALOG_GROUP
            and w.state in running
            and not (w in self._keys_go and self._keys_go[w]())
            for w in self.workers
        )

    def _release_next(self) -> None:
        """Hand the oldest held key to the App (it stays busy until that one settles)."""
        while self._keys_held:
            event = self._keys_held.popleft()
            self._key_released = event
            if self.post_message(event):
                return
        self._key_released = None
        self._key_busy = False


# ------------------------------------------------------------------ the keymap's conflicts


def class_bindings(node: type[Any]) -> list[Binding]:
    """Every binding a widget, screen or app class has (its own and inherited `BINDINGS`),
    one per key ("escape,q" is two)."""
    return [
        binding
        for cls in node.__mro__
        for binding in Binding.make_bindings(cls.__dict__.get("BINDINGS", []))
    ]


def _keys(keys: str) -> list[str]:
    """A keymap value as Textual reads it ("?" is "question_mark")."""
    return [b.key for b in Binding.make_bindings([Binding(keys, "keymap")])]


def _name(binding: Binding) -> str:
    name = repr(binding.id or binding.action)
    return f"{name} ({binding.description})" if binding.description else name


def checked_keymap(
    keymap: Mapping[str, str], scopes: Iterable[Sequence[Binding]]
) -> tuple[dict[str, str], list[str]]:
    """The settings' keymap (binding id → keys) without the entries that would take a key
    another binding of the same scope keeps (a scope: the bindings one focused widget can
    reach, e.g. the queue pane's, the table's, the screen's and the app's), and what was
    wrong with each entry left out. Two remaps that swap keys are fine, and so is a key of a
    binding that does the same (Textual's own `ctrl+q` quits too); an id the desk has no
    binding for is left out too."""
    scopes = [list(scope) for scope in scopes]
    requested: dict[str, list[str]] = {}
    problems: dict[str, str] = {}
    for binding_id, keys in keymap.items():
        try:
            requested[binding_id] = _keys(keys)
        except Exception as exc:  # an empty key ("a,,b"): Textual would refuse it
            problems[binding_id] = f"keymap: {binding_id!r} → {keys!r} is not a key ({exc})"
    known = {b.id for scope in scopes for b in scope if b.id}

    def keys_of(binding: Binding) -> list[str]:
        return requested.get(binding.id or "", [binding.key])

    for binding_id, wanted in requested.items():
        if binding_id not in known:
            problems[binding_id] = f"keymap: {binding_id!r} is no binding of the desk"
            continue
        clash = next(
            (
                (key, other)
                for scope in scopes
                for mine in {b.action for b in scope if b.id == binding_id}
                for other in scope
                if other.id != binding_id and other.action != mine  # the same: no clash
                for key in wanted
                if key in keys_of(other)
            ),
            None,
        )
        if clash is not None:
            other = clash[1]
            problems[binding_id] = (
                f"keymap: {binding_id!r} → {keymap[binding_id]!r} takes the key of {_name(other)}"
            )
    applied = {k: v for k, v in keymap.items() if k not in problems}
    return applied, [f"{text}; not applied" for text in problems.values()]
