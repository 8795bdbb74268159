#!/usr/bin/env python3
"""Writes a TSN benchmark plant and exercise: SWITCHES TSN switches in a line, HOSTS_PER
switch end stations on each, and STREAMS 1 ms streams, stream k from a station of switch
i to one of switch i+1 (so each frame crosses two switches' gate logic). Every switch has
a gate control list giving class 7 the first 250 us of each 1 ms cycle.

    python3 benches/tsn/gen.py OUT_DIR [SWITCHES] [STREAMS]     # default 100 1000
"""
import os
import sys

out = sys.argv[1]
switches = int(sys.argv[2]) if len(sys.argv) > 2 else 100
streams = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
per = max(1, (streams + switches - 1) // switches)
os.makedirs(out, exist_ok=True)
p = ['[plant]', 'name = "tsn-benchmark"', '[[zone]]', 'name = "cell"', 'level = "L1"']
for s in range(switches):
    p += ['[[host]]', f'name = "sw{s}"', 'role = "switch"', 'zone = "cell"',
          f'address = "10.1.{s // 250}.{s % 250 + 1}"']
    for h in range(per):
        p += ['[[host]]', f'name = "st{s}-{h}"', 'role = "plc"', 'zone = "cell"',
              f'address = "10.{2 + s // 250}.{s % 250}.{h + 1}"']
for s in range(switches):
    if s + 1 < switches:
        p += ['[[link]]', f'a = "sw{s}"', f'b = "sw{s + 1}"', 'bandwidth = "1Gbps"']
    for h in range(per):
        p += ['[[link]]', f'a = "st{s}-{h}"', f'b = "sw{s}"', 'bandwidth = "1Gbps"']
p += ['[tsn]']
for s in range(switches):
    p += ['[[tsn.switch]]', f'host = "sw{s}"',
          'gates = [{ open = [7], duration = "250us" }, { open = [0, 1, 2, 3, 4, 5, 6], duration = "750us" }]']
for k in range(streams):
    s, h = k % switches, (k // switches) % per
    d = s + 1 if s + 1 < switches else s - 1
    p += ['[[tsn.stream]]', f'name = "s{k}"', f'talker = "st{s}-{h}"', f'listeners = ["st{d}-{h}"]',
          'pcp = 7', 'period = "1ms"', f'offset = "{(k * 7) % 200}us"', 'payload = 64', 'deadline = "1ms"']
with open(os.path.join(out, 'plant.toml'), 'w') as f:
    f.write('\n'.join(p) + '\n')
with open(os.path.join(out, 'exercise.toml'), 'w') as f:
    f.write('[exercise]\nname = "tsn benchmark"\nplant = "plant.toml"\nduration = "1s"\nseed = 1\n'
            '[expect]\nmax_deadline_misses = 0\n')
