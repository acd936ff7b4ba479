"""Test helpers: an S3 server (moto) on loopback that can be stopped and restarted.

moto keeps its buckets in process-wide backends, so a server restarted in the same process
on the same port serves the same objects: an outage of the object store, not a data loss.
"""

from __future__ import annotations

import json
import logging

import boto3
from moto.server import ThreadedMotoServer


class MotoS3:
    """A moto S3 server on 127.0.0.1:``port``; ``stop`` closes the socket (connections are
    refused, as with a server that is down), ``start`` serves the same state again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self._server: ThreadedMotoServer | None = None

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request
        self._server = ThreadedMotoServer("127.0.0.1", self.port, verbose=False)
        self._server.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.stop()
        self._server._server.server_close()  # stop() leaves the socket listening
        self._server = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def connection_json(self) -> str:
        """The value of ``AIRFLOW_CONN_<ID>`` for an Airflow ``aws`` connection to it."""
        return json.dumps({"conn_type": "aws", "login": "testing", "password": "testing",
                           "extra": {"endpoint_url": self.endpoint,
                                     "region_name": "us-east-1"}})

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                       Prefix=prefix)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))
