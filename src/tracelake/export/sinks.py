"""Where scheduled exports write: a local directory (``file:///dir``) or S3 (``s3://bucket/p``,
any S3-compatible endpoint). A sink stores whole objects under keys relative to its prefix;
storage errors become ``SinkError`` in plain words.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

from tracelake.errors import InvalidRequest
from tracelake.model.automations import split_export_path

log = logging.getLogger("tracelake")


class SinkError(InvalidRequest):
    """The storage refused or could not be reached; the message says why in plain words."""


class Sink(Protocol):
    location: str

    def put_file(self, key: str, path: Path) -> None: ...

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def list(self, prefix: str) -> list[str]: ...

    def delete(self, keys: list[str]) -> None: ...

    def get_bytes(self, key: str) -> bytes: ...


def open_sink(export_path: str, credentials: dict | None = None, *, quick: bool = False) -> Sink:
    """The storage an export path names. ``quick``: an S3 call waits less and is not
    retried (for ``test``, which a person is waiting on)."""
    scheme, bucket, rest = split_export_path(export_path)
    if scheme == "file":
        return DirectorySink(Path(rest))
    if scheme == "s3":
        return S3Sink(bucket, rest, credentials or {}, quick=quick)
    raise SinkError(f"unsupported export path {export_path!r}")


def probe(sink: Sink) -> str:
    """Write, read back and delete a test object; the key used, or SinkError."""
    key = ".tracelake-test-" + os.urandom(6).hex()
    sink.put_bytes(key, b"tracelake export test\n")
    if sink.get_bytes(key) != b"tracelake export test\n":
        raise SinkError(f"{sink.location}: the test object read back differently")
    sink.delete([key])
    return key


class DirectorySink:
    """A local directory; files appear atomically (written aside, then renamed)."""

    def __init__(self, root: Path):
        self.root = root
        self.location = f"file://{root}"

    def _path(self, key: str) -> Path:
        return self.root / key

    def _prepare(self, key: str) -> Path:
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            # A file where a folder of the path should be read "File exists" (the export's
            # own folder) or "Not a directory": say which file is in the way.
            folders = [target.parent, *target.parent.parents]
            blocker = next((p for p in folders if p.exists() and not p.is_dir()), None)
            if blocker is not None:
                raise SinkError(
                    f"cannot create {target.parent}: {blocker} is a file, not a folder"
                ) from None
            raise SinkError(f"cannot create {target.parent}: {exc.strerror}") from None
        return target

    def put_file(self, key: str, path: Path) -> None:
        target = self._prepare(key)
        try:
            tmp = target.with_name(target.name + ".partial")
            shutil.copyfile(path, tmp)
            os.replace(tmp, target)
        except OSError as exc:
            raise SinkError(f"cannot write {target}: {exc.strerror}") from None

    def put_bytes(self, key: str, data: bytes) -> None:
        target = self._prepare(key)
        try:
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".partial-")
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            raise SinkError(f"cannot write {target}: {exc.strerror}") from None

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except OSError as exc:
            raise SinkError(f"cannot read {self._path(key)}: {exc.strerror}") from None

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix)
        if not base.is_dir():
            return []
        return sorted(str(p.relative_to(self.root)) for p in base.rglob("*") if p.is_file())

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            try:
                self._path(key).unlink(missing_ok=True)
            except OSError as exc:
                raise SinkError(f"cannot delete {self._path(key)}: {exc.strerror}") from None


class S3Sink:
    """An S3 bucket and prefix through boto3 (STS AssumeRole for ``aws_iam`` credentials)."""

    def __init__(self, bucket: str, prefix: str, credentials: dict, *, quick: bool = False):
        self.bucket = bucket
        self.prefix = prefix
        self.location = f"s3://{bucket}/{prefix}".rstrip("/")
        self.credentials = credentials
        self.quick = quick
        self._client = None

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    @property
    def client(self):
        if self._client is None:
            self._client = s3_client(self.credentials, quick=self.quick)
        return self._client

    def _call(self, what: str, fn, *args, **kwargs):
        import boto3.exceptions
        import botocore.exceptions as bx

        _UNREACHABLE = _unreachable_errors()  # noqa: N806 - (botocore is imported lazily)
        try:
            return fn(*args, **kwargs)
        except bx.ClientError as exc:
            raise SinkError(f"{self.location}: {what} failed: {_client_error(exc)}") from None
        except boto3.exceptions.S3UploadFailedError as exc:
            # upload_file wraps the storage's answer (raised while handling it) in a message
            # that names our scratch file: say what the storage answered, as put_object does.
            cause = exc.__context__
            if isinstance(cause, bx.ClientError):
                reason = _client_error(cause)
            elif isinstance(cause, _UNREACHABLE):
                raise self._unreachable(cause) from None
            else:
                reason = str(cause) if cause is not None else "the storage refused the upload"
            raise SinkError(f"{self.location}: {what} failed: {reason}") from None
        except _UNREACHABLE as exc:
            raise self._unreachable(exc) from None
        except bx.NoCredentialsError:
            raise SinkError(f"{self.location}: no AWS credentials were found") from None
        except bx.BotoCoreError as exc:
            raise SinkError(f"{self.location}: {what} failed: {exc}") from None

    def _unreachable(self, exc: Exception) -> SinkError:
        """One message for every way of not reaching the endpoint: a refused connection, a
        timeout, a TLS failure or an unknown host said which, so an export's ``test`` (or
        its run history) told whoever set its ``endpoint_url`` which addresses and ports of
        the server's network exist. The server log has the cause."""
        endpoint = self.credentials.get("endpoint_url") or "of AWS"
        log.warning(
            "export to %s: cannot reach the S3 endpoint %s: %s", self.location, endpoint, exc
        )
        return SinkError(
            f"{self.location}: cannot reach the S3 endpoint {endpoint} (no connection or no"
            " answer; the server log says why)"
        )

    def put_file(self, key: str, path: Path) -> None:
        self._call("upload", self.client.upload_file, str(path), self.bucket, self._key(key))

    def put_bytes(self, key: str, data: bytes) -> None:
        self._call(
            "upload", self.client.put_object, Bucket=self.bucket, Key=self._key(key), Body=data
        )

    def get_bytes(self, key: str) -> bytes:
        response = self._call(
            "download", self.client.get_object, Bucket=self.bucket, Key=self._key(key)
        )
        return response["Body"].read()

    def list(self, prefix: str) -> list[str]:
        full = self._key(prefix)
        keys = []
        paginator = self.client.get_paginator("list_objects_v2")
        pages = self._call(
            "listing", lambda: list(paginator.paginate(Bucket=self.bucket, Prefix=full))
        )
        strip = len(self.prefix) + 1 if self.prefix else 0
        for page in pages:
            keys += [obj["Key"][strip:] for obj in page.get("Contents", [])]
        return sorted(keys)

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            chunk = [{"Key": self._key(k)} for k in keys[start : start + 1000]]
            response = self._call(
                "delete",
                self.client.delete_objects,
                Bucket=self.bucket,
                Delete={"Objects": chunk, "Quiet": True},
            )
            # A key the storage refused to delete is answered in the body of a 200, not as
            # an error status: without this check a missing s3:DeleteObject went unnoticed.
            errors = (response or {}).get("Errors") or []
            if errors:
                code = errors[0].get("Code", "")
                reason = _PLAIN.get(code) or errors[0].get("Message") or code
                raise SinkError(
                    f"{self.location}: delete of {errors[0].get('Key')} failed: {reason}"
                    + (f" ({code})" if code and code != reason else "")
                )


_PLAIN = {
    "NoSuchBucket": "the bucket does not exist",
    "InvalidAccessKeyId": "the access key id is not known to the server",
    "SignatureDoesNotMatch": "the secret access key is wrong",
    "AccessDenied": "access denied (check the key's or role's S3 permissions)",
    "InvalidBucketName": "the bucket name is not valid",
    "ExpiredToken": "the session token has expired",
}


def _unreachable_errors() -> tuple[type[Exception], ...]:
    import botocore.exceptions as bx

    # ConnectionError: refused, unknown host, connect timeout, TLS, proxy; HTTPClientError:
    # read timeout, connection closed mid-answer.
    return (bx.ConnectionError, bx.HTTPClientError)


def _client_error(exc) -> str:
    error = exc.response.get("Error", {})
    code = error.get("Code", "")
    plain = _PLAIN.get(code)
    if plain:
        return f"{plain} ({code})"
    return f"{error.get('Message') or code or exc}"


def s3_client(credentials: dict, *, quick: bool = False):
    """A boto3 S3 client for a validated ``credentials`` config (see model.automations);
    ``quick``: 5 s timeouts and no retry."""
    import boto3
    import botocore.config
    import botocore.exceptions as bx

    kind = credentials.get("type", "environment")
    region = credentials.get("region") or "us-east-1"
    endpoint = credentials.get("endpoint_url")
    config = botocore.config.Config(
        # total_max_attempts counts the first try (botocore's max_attempts counts retries).
        retries={"total_max_attempts": 1 if quick else 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=5 if quick else 60,
    )
    if kind == "aws_static":
        session = boto3.session.Session(
            aws_access_key_id=credentials["access_key_id"],
            aws_secret_access_key=credentials["secret_access_key"],
            aws_session_token=credentials.get("session_token"),
            region_name=region,
        )
    elif kind == "profile":
        try:
            session = boto3.session.Session(profile_name=credentials["profile"], region_name=region)
        except bx.ProfileNotFound:
            raise SinkError(f"AWS profile {credentials['profile']!r} not found") from None
    elif kind == "aws_iam":
        session = _assumed_role_session(credentials, region)
    else:
        session = boto3.session.Session(region_name=region)
    try:
        return session.client("s3", endpoint_url=endpoint, config=config)
    except ValueError as exc:  # an endpoint or region saved before they were validated
        raise SinkError(f"the S3 settings are not valid: {exc}") from None


def _assumed_role_session(credentials: dict, region: str):
    """STS AssumeRole with the role ARN and external id, from the server's own credentials."""
    import boto3
    import botocore.exceptions as bx

    sts = boto3.session.Session(region_name=region).client("sts")
    params = {"RoleArn": credentials["role_arn"], "RoleSessionName": "tracelake-export"}
    if credentials.get("external_id"):
        params["ExternalId"] = credentials["external_id"]
    try:
        assumed = sts.assume_role(**params)["Credentials"]
    except bx.ClientError as exc:
        raise SinkError(
            f"cannot assume role {credentials['role_arn']}: {_client_error(exc)}"
        ) from None
    except (bx.NoCredentialsError, bx.EndpointConnectionError, bx.ParamValidationError) as exc:
        # (ParamValidationError: a role ARN saved before ARNs were checked; it was a 500)
        raise SinkError(f"cannot assume role {credentials['role_arn']}: {exc}") from None
    return boto3.session.Session(
        aws_access_key_id=assumed["AccessKeyId"],
        aws_secret_access_key=assumed["SecretAccessKey"],
        aws_session_token=assumed["SessionToken"],
        region_name=region,
    )
