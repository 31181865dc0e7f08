"""A Python `requests` client for the e2e scenarios, run through oauth-lens via HTTPS_PROXY.

argv[1] is a JSON spec: {"method", "url", "headers"?, "data"? ([[name, value], ...] or str),
"json"?, "auth"? ([id, secret]), "params"? ([[name, value], ...]), "repeat"? (n, no pause)}.
Prints one JSON list: [{"status", "headers" (lower-case names), "text"}] per attempt. Proxy and CA come from the
environment (HTTPS_PROXY, REQUESTS_CA_BUNDLE), as an application would get them from oauth-lens env.
"""
import json
import sys

import requests


def main() -> None:
    spec = json.loads(sys.argv[1])
    kwargs = {"headers": spec.get("headers") or {}, "timeout": 10, "allow_redirects": False}
    if "data" in spec:
        data = spec["data"]
        kwargs["data"] = [tuple(pair) for pair in data] if isinstance(data, list) else data
    if "json" in spec:
        kwargs["json"] = spec["json"]
    if "params" in spec:
        kwargs["params"] = [tuple(pair) for pair in spec["params"]]
    if "auth" in spec:
        kwargs["auth"] = tuple(spec["auth"])
    results = []
    with requests.Session() as session:
        for _ in range(int(spec.get("repeat", 1))):
            response = session.request(spec.get("method", "POST"), spec["url"], **kwargs)
            results.append({"status": response.status_code, "headers": {k.lower(): v for k, v in response.headers.items()}, "text": response.text})
    print(json.dumps(results))


if __name__ == "__main__":
    main()
