"""Schemathesis hooks for .ci/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

OpenAPI describes each query parameter on its own; a few rules of
`GET /api/v1/todos` tie parameters together or depend on server state, and a
request generated as *valid* by Schemathesis can break them. The server is
right to answer 400 there, so the positive_data_acceptance check would
report a false failure. These hooks bring positive requests in line with
those rules before they are sent; they never touch negative requests, and
they silence no check and no failure:

- `cursor` is opaque: only a `nextCursor` the server issued is valid. A
  generated one is dropped; an issued one (collected from earlier answers,
  reached through the `NextPage` link) is kept, without `page`, `sort` and
  `order`, which it carries itself and which must not contradict it.
- `dueTo` must not be before `dueFrom`: when both are present, `dueTo` is
  set to `dueFrom` (always a valid range, also for mixed date and
  date-time values).
- `Idempotency-Key` is stateful: a key already used with another request is
  answered 422 (`IDEMPOTENCY_KEY_REUSED`), and generated keys repeat ("0",
  "00", ...). In a positive request a generated key is replaced by a fresh
  UUID, so that each valid request is a first use; negative requests keep
  what was generated (malformed keys must still be refused).

One failure is dropped, narrowly: ensure_resource_availability reads any
404 from an operation reached through a link as "the resource just created
is gone". `PATCH /api/v1/todos/{id}` also answers 404 when the body names a
parent todo or a category that does not exist (`PARENT_TODO_NOT_FOUND`,
`CATEGORY_NOT_FOUND`: the status and codes of the Go contract, which this
server keeps). Such a 404 says nothing about the todo in the path, so that
check's failure is dropped for those two codes only (Schemathesis counts
dropped failures in its summary); a `TODO_NOT_FOUND` still fails the run.
"""

import threading
import uuid

import schemathesis

_issued_cursors: set[str] = set()
_lock = threading.Lock()


def _is_todo_list(case) -> bool:
    return case.operation.method.upper() == "GET" and case.operation.path == "/api/v1/todos"


@schemathesis.hook
def after_call(ctx, case, response):
    if not _is_todo_list(case) or response.status_code != 200:
        return
    try:
        cursor = response.json().get("nextCursor")
    except Exception:  # not JSON: the checks report it
        return
    if isinstance(cursor, str):
        with _lock:
            _issued_cursors.add(cursor)


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key":
            headers[name] = str(uuid.uuid4())
    if not _is_todo_list(case):
        return
    query = case.query
    if not query:
        return
    cursor = query.get("cursor")
    if cursor is not None:
        with _lock:
            issued = cursor in _issued_cursors
        if issued:
            for name in ("page", "sort", "order"):
                query.pop(name, None)
        else:
            del query["cursor"]
    if query.get("dueFrom") is not None and query.get("dueTo") is not None:
        query["dueTo"] = query["dueFrom"]


# Error codes of a 404 about a resource named in the body, not in the path.
_REFERENCE_NOT_FOUND = {"PARENT_TODO_NOT_FOUND", "CATEGORY_NOT_FOUND"}


@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    if getattr(failure, "code", None) != "ST302" or response.status_code != 404:
        return True
    try:
        code = response.json().get("code")
    except Exception:
        return True
    return code not in _REFERENCE_NOT_FOUND
