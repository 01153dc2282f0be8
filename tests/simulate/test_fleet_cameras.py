"""The simulator's cameras against the real edge: registered through the API, their
frames over UDP, seen in the API, as snapshots and on the `video_streams` topic."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest
import websockets
from PIL import Image

from tests.service import ServiceProcess
from tests.simulator import Simulator
from tests.waiting import eventually
from tests.ws_client import recv, ws_url

pytestmark = pytest.mark.e2e
CAMERAS = {"sim-alba-1-cam", "sim-cam-1"}


def test_the_fleets_cameras_register_and_stream_to_the_edge(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())

        async def scenario() -> dict[str, dict[str, Any]]:
            async with websockets.connect(ws_url(service.url, f"/ws/video_streams?token={service.token()}")) as ws:
                assert (await recv(ws))["data"] == []  # no camera before the simulator
                streaming: dict[str, dict[str, Any]] = {}
                async with asyncio.timeout(20):
                    while set(streaming) != CAMERAS:
                        message = await recv(ws, timeout=20)
                        view = message["data"]
                        if message["type"] == "upsert" and view["status"] == "active" and view["fps"] > 0:
                            streaming[view["camera_id"]] = view
                return streaming

        with Simulator(service, "--cameras", "1", albabots=1, cookbots=1):
            streaming = asyncio.run(scenario())
            assert streaming["sim-alba-1-cam"]["source"] == "robot"
            assert streaming["sim-alba-1-cam"]["robot_id"] == "sim-alba-1"
            assert (streaming["sim-cam-1"]["source"], streaming["sim-cam-1"]["robot_id"]) == ("fixed", None)
            listed = {c["camera_id"]: c for c in service.http.get("/api/video-streams", headers=admin).json()}
            assert set(listed) == CAMERAS  # the cookbot has none
            eventually(
                lambda: all(c["fps"] >= 3 for c in service.http.get("/api/video-streams", headers=admin).json()),
                timeout=10, what="5 frames/s from each camera",
            )  # fmt: skip
            shots = []
            for camera_id in sorted(CAMERAS):
                shot = service.http.get(f"/api/video-streams/{camera_id}/snapshot.jpg", headers=admin)
                assert shot.status_code == 200 and shot.headers["content-type"] == "image/jpeg"
                image = Image.open(io.BytesIO(shot.content))
                image.load()
                assert (image.format, image.size) == ("JPEG", (320, 240))
                shots.append(shot.content)
            assert shots[0] != shots[1]
            first = shots[0]
            eventually(
                lambda: service.http.get("/api/video-streams/sim-alba-1-cam/snapshot.jpg", headers=admin).content
                != first,
                what="a newer frame",
            )  # fmt: skip
