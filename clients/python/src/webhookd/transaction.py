"""Two-phase event submission as a context manager."""
from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, List, Optional, Union

import grpc
from google.protobuf import duration_pb2

from . import pb
from .errors import ApiError

__all__ = ["EventTransaction"]


class EventTransaction:
    """Prepares events, commits on success, aborts on failure.

    Made by :meth:`webhookd.Client.transaction`::

        with client.transaction("order-42") as tx:
            tx.add(event_a)             # Prepare (durable on return)
            tx.add(event_b, event_c)    # Prepare again: same transaction
        tx.deliveries_created           # Commit ran when the block ended

    - :meth:`add` calls Prepare at once, so a bad event raises where it is
      added, and what returned is stored durably by the server.
    - Leaving the block normally calls Commit (deliveries are created only
      now). A block that prepared nothing commits nothing.
    - Leaving it with an exception calls Abort, then re-raises the
      exception (a failed Abort is noted on it; the transaction then expires
      unresolved, which never delivers either).
    - A Commit that fails raises :class:`ApiError`; the transaction is not
      aborted then, since Commit is idempotent and may be retried with
      :meth:`commit`.
    """

    def __init__(self, events: Any, transaction_id: Optional[str] = None, *,
                 ttl: Union[None, timedelta, float] = None):
        self._events = events
        self.id = transaction_id or f"tx-{uuid.uuid4().hex}"
        self._ttl = ttl
        self._attempted_prepare = False
        self._resolved = False
        #: The latest state the server reported (a ``pb.Transaction``).
        self.transaction: Optional[pb.Transaction] = None
        #: One ``pb.EventResult`` per event added, in order.
        self.event_results: List[pb.EventResult] = []
        #: The ``pb.CommitResponse``, once committed.
        self.commit_response: Optional[pb.CommitResponse] = None

    @property
    def deliveries_created(self) -> int:
        return self.commit_response.deliveries_created if self.commit_response else 0

    def _duration(self) -> Optional[duration_pb2.Duration]:
        if self._ttl is None:
            return None
        ttl = self._ttl if isinstance(self._ttl, timedelta) else timedelta(seconds=self._ttl)
        duration = duration_pb2.Duration()
        duration.FromTimedelta(ttl)
        return duration

    def add(self, *events: pb.Event, **fields: Any) -> List[pb.EventResult]:
        """Prepares events: ``pb.Event`` messages, or one event's fields as
        keyword arguments. Returns their ``pb.EventResult`` s (id and how
        many subscriptions match now)."""
        if self._resolved:
            raise RuntimeError(f"transaction {self.id!r} is already resolved")
        batch = list(events)
        if fields:
            batch.append(pb.Event(**fields))
        if not batch:
            raise ValueError("add() needs at least one event")
        request = pb.PrepareRequest(transaction_id=self.id, events=batch)
        duration = self._duration()
        if duration is not None:
            request.ttl.CopyFrom(duration)
        self._attempted_prepare = True
        response = self._events.Prepare(request)
        self.transaction = response.transaction
        self.event_results.extend(response.event_results)
        return list(response.event_results)

    def commit(self) -> Optional[pb.CommitResponse]:
        """Commits now (leaving the block then does nothing more). Returns
        None when nothing was prepared."""
        if not self._attempted_prepare:
            self._resolved = True
            return None
        response = self._events.Commit(transaction_id=self.id)
        self._resolved = True
        self.commit_response = response
        self.transaction = response.transaction
        return response

    def abort(self) -> Optional[pb.AbortResponse]:
        """Aborts now. Returns None when nothing was (or may have been)
        prepared, or the server never heard of the transaction."""
        self._resolved = True
        if not self._attempted_prepare:
            return None
        try:
            response = self._events.Abort(transaction_id=self.id)
        except ApiError as error:
            if error.code == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        self.transaction = response.transaction
        return response

    def __enter__(self) -> "EventTransaction":
        return self

    def __exit__(self, exc_type, exc, traceback) -> bool:
        if self._resolved:
            return False
        if exc_type is None:
            self.commit()
            return False
        try:
            self.abort()
        except Exception as abort_error:  # keep the original exception
            if hasattr(exc, "add_note"):
                exc.add_note(f"webhookd: aborting transaction {self.id!r} "
                             f"failed too: {abort_error}")
        return False

    def __repr__(self) -> str:
        state = (pb.Transaction.State.Name(self.transaction.state)
                 if self.transaction is not None else "NEW")
        return f"<EventTransaction {self.id} {state}>"
