#!/bin/bash
set -x
cd /tmp/meas
date
mpirun --allow-run-as-root --oversubscribe -np 2 /tmp/gv train --run /tmp/meas/p28 --steps 12 --quiet --sample-every 0 --checkpoint-every 0 > p28.log 2>&1
/tmp/gv train --run /tmp/meas/a28 --steps 12 --quiet --sample-every 0 --checkpoint-every 0 > a28.log 2>&1
mpirun --allow-run-as-root --oversubscribe -np 2 /tmp/gv train --data /tmp/imgs --run /tmp/meas/p64 --steps 5 --quiet --sample-every 0 --checkpoint-every 0 > p64.log 2>&1
/tmp/gv train --data /tmp/imgs --run /tmp/meas/a64 --steps 5 --quiet --sample-every 0 --checkpoint-every 0 > a64.log 2>&1
mpirun --allow-run-as-root --oversubscribe -np 2 /tmp/allreduce > allreduce-shm.txt 2>&1
mpirun --allow-run-as-root --oversubscribe -np 2 --mca btl self,tcp /tmp/allreduce > allreduce-tcp.txt 2>&1
date
