"""Pre §5 / post §1: one minimal non-stream chat completion. Sent once: it may cost money."""

from smoke.context import RunContext, error_text
from smoke.model import Phase, Result, Severity
from smoke.registry import check

ENDPOINT = "POST /v1/chat/completions"  # named in every failure message


def chat_once(ctx: RunContext, model: str) -> tuple[Result, dict]:
    """Send one small chat for `model`; the result and its evidence. Shared with post checks."""
    payload = {
        "model": model,
        "messages": [{"role": "user", "content": "ping"}],
        "max_tokens": ctx.settings.chat_max_tokens,
        "stream": False,  # without it 9router answers SSE
    }
    response = ctx.client.post(
        "/v1/chat/completions",
        payload,
        headers={"Authorization": f"Bearer {ctx.settings.api_key}"},
        timeout=ctx.settings.chat_timeout,
    )
    evidence: dict = {"status": response.status, "latency_ms": response.elapsed_ms, "model": model}
    if response.status == 200:
        body = response.json("chat")
        evidence["answered_by"] = body.get("model")
        return Result.passed(
            f"HTTP 200 in {response.elapsed_ms} ms, answered by {body.get('model') or 'unknown model'}",
            **evidence,
        ), evidence
    detail = error_text(response)
    evidence["error"] = detail
    retry = response.retry_after()
    if retry is not None:
        evidence["retry_after_s"] = retry
    if response.status == 503:
        return Result.failed(
            f"{ENDPOINT} answered HTTP 503: every route for {model} is locked or unavailable: {detail}"
            + (f" (Retry-After {retry:.0f}s)" if retry is not None else ""),
            **evidence,
        ), evidence
    if response.status == 401:
        return Result.failed(f"{ENDPOINT} answered HTTP 401: the API key was refused: {detail}", **evidence), evidence
    if response.status == 404:
        message = f"{ENDPOINT} answered HTTP 404: 9router has no active route for {model}: {detail}"
        return Result.failed(message, **evidence), evidence
    return Result.failed(f"{ENDPOINT} answered HTTP {response.status}: {detail}", **evidence), evidence


@check(
    "chat-completion",
    title="Minimal chat: POST /v1/chat/completions (stream false)",
    phases=(Phase.PRE, Phase.POST),
    severity=Severity.P0,
    checklist="pre-deploy 5, post-deploy 1",
)
def chat_completion(ctx: RunContext) -> Result:
    result, _ = chat_once(ctx, ctx.settings.model or "")
    return result
