"""What users write by hand to inventory shards: a Python tarfile loop counting samples
(members grouped by the webdataset key rule) per shard. Prints one JSON line."""
import json
import sys
import tarfile
import time

start = time.perf_counter()
cpu_start = time.process_time()
counts = {}
for path in sys.argv[1:]:
    samples = 0
    last_key = None
    with tarfile.open(path, "r|*") as tar:
        for member in tar:
            if not member.isfile():
                continue
            name = member.name
            slash = name.rfind("/")
            dot = name.find(".", slash + 1)
            if dot <= slash + 1:
                continue
            key = name[:dot]
            if key != last_key:
                samples += 1
                last_key = key
    counts[path] = samples
print(json.dumps({"seconds": time.perf_counter() - start, "cpuSeconds": time.process_time() - cpu_start, "samples": sum(counts.values()), "shards": len(counts)}))
