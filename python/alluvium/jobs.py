"""Load jobs through the coordinator's REST API: the contract `alluvium job load` uses, and
Alluxio's (POST /api/v1/master/{submit,progress,stop}_job/load with a JSON body)."""

import json
import ssl
import time
import urllib.error
import urllib.request

END_STATES = ("SUCCEEDED", "FAILED", "STOPPED")

# Python keyword -> the REST option it sets (the CLI's flags, snake_cased).
OPTIONS = {
    "replicas": "replicas",
    "batch_size": "batchSize",
    "partial_listing": "partialListing",
    "metadata_only": "loadMetadataOnly",
    "skip_if_exists": "skipIfExists",
    "verify": "verify",
    "bandwidth": "bandwidth",
    "file_filter": "fileFilterRegx",
    "allow_eviction": "allowEviction",
    "dry_run": "dryRun",
}


class LoadError(RuntimeError):
    """A load that ended FAILED or STOPPED; `progress` is its last report (a dict)."""

    def __init__(self, message, progress=None):
        super().__init__(message)
        self.progress = progress


class LoadJobs:
    """Submits, follows and stops the load jobs of one coordinator (`host:port` of its REST API).

    security: the cluster's alluvium.security.* settings as the native client reads them
    ({"tls", "ca_pem", "cert_file", "key_file", "token"}): HTTPS checked against the CA (the
    system's trust store without one) and the host name, a client certificate under mutual TLS,
    and the token as "Authorization: Bearer". None: plain HTTP, no token."""

    def __init__(self, address, timeout=60.0, security=None):
        self.address = address
        self.timeout = timeout
        security = security or {}
        self._token = security.get("token") or ""
        self._tls = None
        if security.get("tls"):
            self._tls = ssl.create_default_context(cadata=security.get("ca_pem") or None)
            if security.get("cert_file"):
                self._tls.load_cert_chain(security["cert_file"], security.get("key_file") or None)

    def submit(self, path, **options):
        """Submits a load of `path` (a cache path or a UFS URI under a mount). Returns the
        coordinator's answer: {"jobId": ...}, the sizing with dry_run, or {"alreadyRunning": True}
        when a load of the path runs already (it is then followed like a new one)."""
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise TypeError(f"unknown load options {unknown}; known: {sorted(OPTIONS)}")
        body = {
            "path": path,
            "options": {OPTIONS[k]: v for k, v in options.items() if v is not None},
        }
        status, answer = self._post("submit_job/load", body)
        if status == 409:
            return {"alreadyRunning": True}
        self._raise_for(status, answer, f"load of {path}")
        return answer

    def progress(self, path, wait_ms=0):
        """The load's report as a dict (mJobState, mLoadedByteCount, ...); FileNotFoundError when
        no load of the path is known. With wait_ms the coordinator answers as soon as the job
        ends, or after that long."""
        body = {"path": path, "format": "JSON"}
        if wait_ms > 0:
            body["waitMs"] = int(wait_ms)
        status, answer = self._post("progress_job/load", body, self.timeout + wait_ms / 1000.0)
        self._raise_for(status, answer, f"progress of the load of {path}")
        return answer

    def stop(self, path):
        """Stops the load of `path`: True if one was running, False if none was."""
        status, answer = self._post("stop_job/load", {"path": path})
        if status == 404:
            return False
        self._raise_for(status, answer, f"stop of the load of {path}")
        return True

    def wait(self, path, timeout=None):
        """Follows the load until it ends; returns its last report, raises LoadError if it did
        not succeed and TimeoutError if it runs longer than `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(f"the load of {path} still runs after {timeout} s")
            wait_ms = 1000 if left is None else max(1, min(1000, int(left * 1000)))
            report = self.progress(path, wait_ms=wait_ms)
            state = report.get("mJobState")
            if state in END_STATES:
                if state != "SUCCEEDED":
                    reason = report.get("mFailureReason") or state.lower()
                    raise LoadError(f"the load of {path} ended {state}: {reason}", report)
                return report

    def _post(self, endpoint, body, timeout=None):
        headers = {"Content-Type": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(
            f"{'https' if self._tls else 'http'}://{self.address}/api/v1/master/{endpoint}",
            data=json.dumps(body).encode(),
            headers=headers,
            method="POST",
        )
        try:
            with urllib.request.urlopen(
                request, timeout=timeout or self.timeout, context=self._tls
            ) as reply:
                return reply.status, _json(reply.read())
        except urllib.error.HTTPError as e:
            return e.code, _json(e.read())
        except urllib.error.URLError as e:
            raise ConnectionError(
                f"the coordinator's REST API at {self.address} cannot be reached: {e.reason}"
            ) from None

    @staticmethod
    def _raise_for(status, answer, what):
        if status == 200:
            return
        message = f"{what}: {answer.get('message', answer) if isinstance(answer, dict) else answer}"
        if status == 404:
            raise FileNotFoundError(message)
        if status in (401, 403):
            raise PermissionError(message)
        if 400 <= status < 500:
            raise ValueError(message)
        raise OSError(f"{message} (HTTP {status})")


def _json(data):
    try:
        return json.loads(data) if data else {}
    except ValueError:
        return {"message": data.decode(errors="replace")}
