"""Braintrust routes the official clients call that tracelake does not serve.

tracelake is a data plane: project logs, experiments, datasets and queries over them.
Braintrust's control-plane features (prompts, functions, permissions, secrets, …) have
routes in the ``braintrust`` SDK and the ``braintrust-api`` client all the same, and a
bare "Not Found" from one of them reads as a missing prompt or function rather than a
feature the server lacks. Their 404 names the feature instead.
"""

from __future__ import annotations

# The first path segment under /v1/ → what Braintrust calls the feature (plural).
_V1_FEATURES = {
    "prompt": "prompts (load_prompt)",
    "function": "functions (tools, scorers and prompts you invoke)",
    "acl": "access control lists",
    "group": "permission groups",
    "role": "roles",
    "project_group": "project groups",
    "ai_secret": "AI provider secrets",
    "env_var": "environment variables",
    "service_token": "service tokens",
    "span_iframe": "span iframes",
    "mcp_server": "MCP servers",
    "agent": "agents",
    "org_automation": "organization automations",
    "eval": "remote evals",
    "prompt_session": "playgrounds",
    "dataset_snapshot": "dataset snapshot routes (tracelake's are /v1/dataset/{id}/snapshots)",
}

# Top-level routes of the SDK: invoke() and `braintrust push`, and the environments API.
_TOP_FEATURES = {
    "function": "functions (invoke, braintrust push)",
    "insert-functions": "function uploads (braintrust push)",
    "environment": "environments (tracelake's are dataset snapshots)",
}


def unsupported_route(method: str, path: str) -> str | None:
    """The 404 message of a Braintrust route tracelake does not implement, or None for any
    other path (which stays a plain "Not Found")."""
    segments = path.strip("/").split("/")
    if segments[0] == "v1" and len(segments) > 1:
        feature = _V1_FEATURES.get(segments[1])
    else:
        feature = _TOP_FEATURES.get(segments[0])
    if feature is None:
        return None
    shown = path if len(path) <= 200 else path[:200] + "…"
    return (
        f"{method} {shown}: tracelake does not implement Braintrust's {feature}; it serves"
        " project logs, experiments, datasets and BTQL queries (docs/api.md lists its routes)"
    )
