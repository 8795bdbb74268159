#!/usr/bin/env bash
# A sweep cut into 4 shards on Slurm: one array task per shard (SLURM_ARRAY_TASK_ID, 0-3,
# picks its cells), then a merge job that waits for the whole array:
#
#   jobid=$(sbatch --parsable examples/batch/slurm-array.sh)
#   sbatch --dependency=afterok:$jobid --wrap \
#       "otrange merge --out results/sweep results/shard-0 results/shard-1 results/shard-2 results/shard-3"
#
# Run from the repository (scenarios/ relative to it) with `otrange` on the PATH.
#SBATCH --job-name=otrange-sweep
#SBATCH --array=0-3
#SBATCH --cpus-per-task=2
#SBATCH --mem=1G
#SBATCH --time=02:00:00
set -euo pipefail
# A requeued task keeps the cells it finished (--resume).
otrange sweep scenarios/sweeps/policies.toml --jobs "${SLURM_CPUS_PER_TASK:-2}" \
    --shard "env:SLURM_ARRAY_TASK_ID/4" --out "results/shard-${SLURM_ARRAY_TASK_ID}" --resume
