"""GIF export from a recorded trace: as many frames as asked, at the size asked."""
import pytest
from PIL import Image

from render.paint.gif import export
from tests.conftest import run_wood


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    run_wood(turns=4, seed=5, out=out)
    return out / "trace.jsonl"


@pytest.mark.parametrize("frames_per_turn, size", [(3, (320, 200)), (1, (400, 240))])
def test_gif_frames_and_size(trace, tmp_path, frames_per_turn, size):
    path = export(trace, tmp_path / "run.gif", frames_per_turn=frames_per_turn, size=size)
    with Image.open(path) as gif:
        assert gif.size == size
        assert gif.n_frames == 4 * frames_per_turn
        assert gif.info.get("loop") == 0


def test_gif_max_turns(trace, tmp_path):
    with Image.open(export(trace, tmp_path / "two.gif", frames_per_turn=2, size=(160, 100), max_turns=2)) as gif:
        assert gif.n_frames == 4
