"""Baseline for bench/make-demo.bench.ts: what a user writes by hand to make a synthetic
64x64 JPEG + cls WebDataset shard set — numpy pixels, PIL JPEG encode, tarfile, one
process. Prints one JSON object: samples, seconds, samplesPerSecond."""
import io, json, sys, tarfile, time
import numpy as np
from PIL import Image

out, n, maxcount = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
t0 = time.perf_counter()
tf = None
for i in range(n):
    if i % maxcount == 0:
        if tf: tf.close()
        tf = tarfile.open(f"{out}/train-{i // maxcount:06d}.tar", "w", format=tarfile.USTAR_FORMAT)
    c = i % 10
    img = np.clip(rng.normal(60 + c * 15, 20, (64, 64, 3)), 0, 255).astype(np.uint8)
    yy, xx = np.mgrid[:64, :64]
    img[(yy - 32) ** 2 + (xx - 32) ** 2 < 200] = (200, 40 + c * 20, 90)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=90, subsampling=0)
    for ext, data in (("cls", str(c).encode()), ("jpg", buf.getvalue())):
        info = tarfile.TarInfo(f"s{i:07d}.{ext}")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
tf.close()
dt = time.perf_counter() - t0
print(json.dumps({"samples": n, "seconds": dt, "samplesPerSecond": n / dt}))
