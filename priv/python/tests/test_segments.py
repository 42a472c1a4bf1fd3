"""Shared-memory segments, worker side (snakepit_bridge._segments), in a real temp directory:
writing a result's segment, mapping the host's, output segments and where an array sits on
one, and reading a value the host shared (_shared_values)."""
import json
import os
import shutil
import stat
import tempfile
import unittest

import numpy as np

from tests import PRIV_PYTHON  # noqa: F401  (sys.path)
from tests.support import ensure_stubs

segments = values = shared_values = pb2 = None
THRESHOLD = 100


def setUpModule():
    global segments, values, shared_values, pb2
    ensure_stubs()
    from snakepit_bridge import _segments, _shared_values, _values
    from snakepit_bridge._messages import pb2 as _pb2

    segments, values, shared_values, pb2 = _segments, _values, _shared_values, _pb2


class SegmentsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="snakepit-segments-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.shm = segments.SharedMemory(self.dir, "w1", THRESHOLD)

    def host_writes(self, name, data):
        with open(os.path.join(self.dir, name), "wb") as f:
            f.write(data)

    def content(self, name):
        with open(os.path.join(self.dir, name), "rb") as f:
            return f.read()


class WriteTest(SegmentsTest):
    def test_one_segment_per_write_with_each_part_at_an_aligned_offset(self):
        refs = self.shm.write([memoryview(b"a" * 10), memoryview(np.arange(3, dtype=np.float64)), memoryview(b"")])
        self.assertEqual(refs, [("w1.1", 0, 10), ("w1.1", 64, 24), ("w1.1", 128, 0)])
        data = self.content("w1.1")
        self.assertEqual(data[:10], b"a" * 10)
        self.assertEqual(data[10:64], bytes(54))
        self.assertEqual(np.frombuffer(data[64:88]).tolist(), [0.0, 1.0, 2.0])
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.dir, "w1.1")).st_mode), 0o600)
        self.assertEqual(self.shm.write([memoryview(b"x")])[0].name, "w1.2")

    def test_a_name_that_exists_is_not_written_over(self):
        self.host_writes("w1.1", b"host")
        with self.assertRaisesRegex(segments.SegmentError, "cannot make shared-memory segment 'w1.1'"):
            self.shm.write([memoryview(b"x")])
        self.assertEqual(self.content("w1.1"), b"host")

    def test_remove_is_quiet_about_what_is_gone_or_no_segment_name(self):
        self.shm.write([memoryview(b"x")])
        for name in ("w1.1", "w1.1", "../escape", ""):
            self.shm.remove(name)
        self.assertEqual(os.listdir(self.dir), [])


class MapTest(SegmentsTest):
    def test_a_host_segment_is_mapped_copy_on_write(self):
        self.host_writes("h1", b"0123456789")
        mapping = self.shm.map("h1")
        self.assertEqual(mapping[2:5], b"234")
        mapping[0:1] = b"X"
        self.assertEqual(self.content("h1"), b"0123456789")

    def test_an_empty_segment_maps_to_nothing_readable(self):
        self.host_writes("h1", b"")
        self.assertEqual(len(self.shm.map("h1")), 1)

    def test_a_missing_segment_or_a_bad_name_is_a_segment_error(self):
        for name, message in (("h9", "cannot be opened"), ("../h1", "is not a segment name"), (None, "is not a segment name")):
            with self.subTest(name=name):
                with self.assertRaisesRegex(segments.SegmentError, message):
                    self.shm.map(name)

    def test_read_text(self):
        self.host_writes("s1.meta", b'{"a":1}')
        self.assertEqual(self.shm.read_text("s1.meta"), b'{"a":1}')
        with self.assertRaisesRegex(segments.SegmentError, "cannot be read"):
            self.shm.read_text("s2.meta")


class OutputTest(SegmentsTest):
    def output_array(self, count, dtype=np.float32):
        out = self.shm.create_output(count * np.dtype(dtype).itemsize)
        return out, np.frombuffer(out.mapping, dtype, count=count)

    def test_an_output_segment_is_a_shared_mapping_of_its_size(self):
        out, array = self.output_array(4)
        self.assertEqual((out.name, out.size), ("w1.1", 16))
        array[:] = [1, 2, 3, 4]
        out.mapping.flush()
        self.assertEqual(np.frombuffer(self.content("w1.1"), np.float32).tolist(), [1, 2, 3, 4])

    def test_an_empty_output_segment(self):
        out = self.shm.create_output(0)
        self.assertEqual(os.path.getsize(os.path.join(self.dir, out.name)), 0)

    def test_segment_of_says_where_an_array_lies_on_an_output(self):
        out, array = self.output_array(8)
        self.assertEqual(segments.segment_of(array, [out]), (out.name, 0, 32))
        self.assertEqual(segments.segment_of(array[2:5].reshape(3, 1), [out]), (out.name, 8, 12))
        self.assertIsNone(segments.segment_of(np.zeros(8, np.float32), [out]))
        self.assertIsNone(segments.segment_of(array, None))
        other, _ = self.output_array(1)
        self.assertIsNone(segments.segment_of(array, [other]))

    def test_an_array_on_an_output_is_encoded_by_reference(self):
        out, array = self.output_array(6)
        encoded = values.encode({"result": array.reshape(2, 3), "copied": np.zeros(2)}, [out])
        self.assertEqual(encoded.buffers[0], segments.SegmentRef(out.name, 0, 24))
        self.assertEqual(json.loads(encoded.json)["result"], {"$snakepit": "ndarray", "dtype": "float32", "shape": [2, 3], "buffer": 0})
        self.assertEqual([tuple(b) for b in encoded.buffers if isinstance(b, segments.SegmentRef)], [(out.name, 0, 24)])
        standalone = values.encode(array, [out], inline=True)  # a value that must stand alone: copied
        self.assertEqual((standalone.buffers, "base64" in json.loads(standalone.json)), ([], True))


class PlacedTest(SegmentsTest):
    def test_large_buffers_move_into_one_new_segment_and_small_ones_stay(self):
        ref = segments.SegmentRef("w1.9", 0, 4)
        small, large = memoryview(b"s" * (THRESHOLD - 1)), memoryview(b"L" * THRESHOLD)
        buffers, names = segments.placed([small, large, ref, large], self.shm)
        self.assertIs(buffers[0], small)
        self.assertEqual(buffers[1:], [("w1.1", 0, THRESHOLD), ref, ("w1.1", 128, THRESHOLD)])
        self.assertEqual(names, ["w1.1", "w1.9", "w1.1"])
        self.assertEqual(self.content("w1.1")[128:], b"L" * THRESHOLD)

    def test_without_shared_memory_everything_stays(self):
        large = memoryview(b"L" * THRESHOLD)
        self.assertEqual(segments.placed([large], None), ([large], []))
        self.assertEqual(os.listdir(self.dir), [])


class ConfigureTest(unittest.TestCase):
    def test_configure_sets_the_shared_memory_of_the_process_or_none(self):
        saved = segments._shared
        self.addCleanup(setattr, segments, "_shared", saved)
        segments.configure("/dev/shm/x", "w3", 1024)
        self.assertEqual((segments.shared_memory().prefix, segments.shared_memory().threshold), ("w3", 1024))
        segments.configure(None, "w3", 1024)
        self.assertIsNone(segments.shared_memory())


class SegmentBuffersTest(SegmentsTest):
    def test_buffers_of_a_value_message_inline_or_on_a_segment_mapped_once(self):
        self.host_writes("h1", bytes(64) + np.arange(3, dtype=np.int16).tobytes())
        buffers = [
            pb2.Buffer(inline=b"in"),
            pb2.Buffer(segment=pb2.Segment(name="h1", offset=64, length=6)),
            pb2.Buffer(segment=pb2.Segment(name="h1", offset=0, length=2)),
        ]
        lookup = values.segment_buffers(buffers, self.shm)
        self.assertEqual(lookup(0), b"in")
        self.assertEqual(np.frombuffer(lookup(1), np.int16).tolist(), [0, 1, 2])
        self.assertIs(lookup(1).obj, lookup(2).obj)

    def test_a_range_past_the_segment_or_no_shared_memory_is_a_segment_error(self):
        self.host_writes("h1", b"abc")
        past = [pb2.Buffer(segment=pb2.Segment(name="h1", offset=2, length=2))]
        with self.assertRaisesRegex(segments.SegmentError, "holds 3 bytes, not 4"):
            values.segment_buffers(past, self.shm)(0)
        with self.assertRaisesRegex(segments.SegmentError, "has none"):
            values.segment_buffers(past, None)(0)


class SharedValueTest(SegmentsTest):
    def share(self, name, text, buffers, data):
        """As the host's DataPlane.writeShared does: the buffers in <name>, the rest in <name>.meta."""
        self.host_writes(name, data)
        self.host_writes(f"{name}.meta", json.dumps({"json": text, "tags": 1, "buffers": buffers}).encode())

    def test_a_shared_value_is_read_from_its_files(self):
        self.share("s1", '{"w":{"$snakepit":"ndarray","dtype":"float64","shape":[2],"buffer":0}}', [["s1", 0, 16]], np.array([1.5, 2.5]).tobytes())
        value = shared_values.open_shared("s1", self.shm)
        self.assertEqual(value["w"].tolist(), [1.5, 2.5])
        value["w"][0] = 0  # copy-on-write: the call's own
        self.assertEqual(shared_values.open_shared("s1", self.shm)["w"].tolist(), [1.5, 2.5])

    def test_a_closed_or_unreadable_shared_value_is_a_segment_error(self):
        with self.assertRaisesRegex(segments.SegmentError, "is gone"):
            shared_values.open_shared("s1", self.shm)
        self.host_writes("s2.meta", b'{"json": "1"}')
        with self.assertRaisesRegex(segments.SegmentError, "unreadable"):
            shared_values.open_shared("s2", self.shm)
        with self.assertRaisesRegex(segments.SegmentError, "without shared memory"):
            shared_values.open_shared("s1", None)


if __name__ == "__main__":
    unittest.main()
