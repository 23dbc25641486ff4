"""Master-key rotation: every version of every secret re-encrypted under a key derived from a
new master key, with the store readable and writable throughout.

1. Start (org lock exclusive, brief): org.json gains `rotation`, the new generation's
   parameters and check, with each key wrapped under the other. From here on every operation,
   holding either master key, opens both generations and writes new tokens under the new one.
2. Pass (org lock shared): each secret file, under its own lock, moves to the new generation
   (MultiFernet: decrypt with the old key, encrypt with the new; the seal is redone). Readers
   meanwhile read either kind of file. One folder `fsync` at the end instead of one per file
   (half the pass's time here).
3. End (org lock exclusive, brief): every file is checked to be on the new generation; org.json
   makes the new key the key, and keeps the old one only wrapped under the new (`retired`).

A crash anywhere leaves org.json saying what to finish: `rotate-key` again, with either master
key, picks up where it stopped. A damaged file stops the pass without touching it, and the
rotation stays open until that file is restored.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from leakstop.audit.record import Action, utc_timestamp
from leakstop.errors import StoreDamagedError, StoreError
from leakstop.store import secretfile
from leakstop.store.document import parse
from leakstop.store.files import fsync_folder
from leakstop.store.keys import DEFAULT_ITERATIONS, KdfParams, derive
from leakstop.store.lock import locked
from leakstop.store.orgfile import KeyRecord, Retired, Rotation, write_org

if TYPE_CHECKING:
    from leakstop.store.local import LocalStore, Session


@dataclass(frozen=True)
class RotationResult:
    #: The key generation every file is now under.
    generation: int
    #: Secret files this run re-encrypted.
    secrets: int
    #: Whether this run finished a rotation an earlier one started.
    resumed: bool
    seconds: float
    iterations: int


def rotate(
    store: LocalStore, new_master_key: bytes | None, *, iterations: int | None = None
) -> RotationResult:
    """Rotate to `new_master_key`, or finish the rotation in flight (None: with the key it
    started with). `iterations` (tests only) lowers PBKDF2's count for the new key; the
    default is 600,000 or the org's own count when higher. Raises StoreError."""
    started = time.perf_counter()
    generation, resumed = _start(store, new_master_key, iterations)
    try:
        count = _pass(store, generation)
        count += _end(store, generation, count, time.perf_counter() - started)
    except StoreError as exc:
        store.record(
            Action.MASTER_KEY_ROTATED,
            "",
            {"stage": "failed", "generation": generation},
            success=False,
            error=str(exc),
        )
        raise
    with store.session() as session:
        count_iterations = session.state.key.params.iterations
    return RotationResult(
        generation, count, resumed, time.perf_counter() - started, count_iterations
    )


def _start(
    store: LocalStore, new_master_key: bytes | None, iterations: int | None
) -> tuple[int, bool]:
    with store.session() as session:
        state = session.state
    if state.rotation is not None:
        if new_master_key is not None:
            record = state.rotation.key
            if not derive(new_master_key, record.params).opens(record.check):
                raise StoreError(
                    "a rotation to another master key is unfinished: run rotate-key without "
                    "LEAKSTOP_NEW_MASTER_KEY (or with that key) to finish it first"
                )
        return state.rotation.key.params.generation, True
    if new_master_key is None:
        raise StoreError("no new master key: set LEAKSTOP_NEW_MASTER_KEY")
    count = iterations
    if count is None:
        count = max(DEFAULT_ITERATIONS, state.key.params.iterations)
    params = KdfParams.new(state.key.params.generation + 1, count)
    new = derive(new_master_key, params)  # outside the exclusive lock: ~0.16 s
    with store.session(exclusive=True) as session:
        if session.state != state:
            raise StoreError("the org changed while the new key was derived: run it again")
        old = session.keys.write
        rotation = Rotation(
            KeyRecord(params, new.check_token()),
            wrapped_new=old.wrap(new),
            wrapped_old=new.wrap(old),
            started=utc_timestamp(),
            actor=store.context.actor,
        )
        write_org(store.paths.org_file, dataclasses.replace(state, rotation=rotation))
        store.record(
            Action.MASTER_KEY_ROTATED,
            "",
            {"stage": "started", "generation": params.generation, "iterations": count},
        )
    return params.generation, False


def _pass(store: LocalStore, generation: int) -> int:
    """Move each file not yet on `generation` to it; returns how many moved."""
    count = 0
    with store.session() as session:
        _expect(session, generation)
        for name, _path in store.paths.secret_files():
            with locked(store.paths.secret_lock(name)):
                count += _move(store, session, name, sync=False)
        fsync_folder(store.paths.secrets)
    return count


def _end(store: LocalStore, generation: int, moved: int, seconds: float) -> int:
    """Check every file, move any left over, and retire the old key. Returns files moved."""
    count = 0
    with store.session(exclusive=True) as session:
        state = session.state
        if state.rotation is None:
            return 0  # another process finished it
        _expect(session, generation)
        for name, path in store.paths.secret_files():
            document, _seal = parse(path.read_bytes(), str(path))
            if document.generation != generation:
                count += _move(store, session, name, sync=True)
        old = session.keys.get(state.key.params.generation, str(store.paths.org_file))
        new = session.keys.write
        retired = [
            Retired(r.key, new.wrap(old.unwrap(r.key.params.generation, r.wrapped)))
            for r in state.retired
        ]
        retired.append(Retired(state.key, new.wrap(old)))
        write_org(
            store.paths.org_file,
            dataclasses.replace(
                state, key=state.rotation.key, rotation=None, retired=tuple(retired)
            ),
        )
        store.record(
            Action.MASTER_KEY_ROTATED,
            "",
            {
                "stage": "completed",
                "generation": generation,
                "secrets": moved + count,
                "seconds": round(seconds, 3),
            },
        )
    return count


def _move(store: LocalStore, session: Session, name: str, *, sync: bool) -> int:
    path = store.paths.secret(name)
    document = secretfile.load(path, name, session.keys)
    if document is None or document.generation == session.keys.write.generation:
        return 0
    moved = secretfile.move_to(document, session.keys, session.keys.write, str(path))
    secretfile.save(path, moved.changed(utc_timestamp()), session.keys.write, sync_folder=sync)
    return 1


def _expect(session: Session, generation: int) -> None:
    if session.keys.write.generation != generation:
        raise StoreDamagedError(
            f"org.json: the rotation to generation {generation} is no longer in flight"
        )
