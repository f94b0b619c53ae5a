#!/usr/bin/env bash
# `phased-dmd train` exactly as a user runs it on one of the 2-D mixtures written by
# scripts/mixture-data.ts (ring8 and grid25 class-conditional on mode groups, the others unconditional), with
# every default: per seed a teacher, then dmd, sgts, phased 4x2 and phased 4x4
# distilled from it; 2 000 samples of each (classes drawn uniformly) scored against the known
# mixture by `phased-dmd eval`. A step whose eval.json exists is skipped; an interrupted
# train is resumed (--resume), so rerunning the script continues where it stopped.
#
#     docs/results/train-check/run.sh <task> <data-dir> <runs-dir> [seeds...]
#
# TEACHER_SET / STUDENT_SET (space-separated key=value) add `--set` overrides to the teacher's
# or every student's `train`, for probes of other defaults.
set -euo pipefail
task=$1 data=$2 runs=$3
shift 3
seeds=("$@")
[ $# -eq 0 ] && seeds=(0 1 2)
cli="node $(dirname "$0")/../../../bin/phased-dmd.js"
x=$data/$task-x.npy
teacher_set=() student_set=()
for kv in ${TEACHER_SET:-}; do teacher_set+=(--set "$kv"); done
for kv in ${STUDENT_SET:-}; do student_set+=(--set "$kv"); done
labels=()
[ -f "$data/$task-y.npy" ] && labels=(--labels "$data/$task-y.npy")

train() { # out, args...
  local out=$1
  shift
  if [ -f "$out/config.json" ]; then
    $cli train --data "$x" "${labels[@]}" --out "$out" --resume "$@"
  else
    $cli train --data "$x" "${labels[@]}" --out "$out" "$@"
  fi
}

score() { # out, checkpoint, seed
  local out=$1 ckpt=$2 seed=$3
  $cli sample --model "$ckpt" --n 2000 --seed $((100 + seed)) --out "$out/samples.npy"
  $cli eval --samples "$out/samples.npy" --reference "$x" --mixture "$task" > "$out/eval.json.tmp"
  mv "$out/eval.json.tmp" "$out/eval.json"
}

for s in "${seeds[@]}"; do
  t=$runs/$task/s$s/teacher
  if [ ! -f "$t/eval.json" ]; then
    train "$t" --method teacher --seed "$s" "${teacher_set[@]}"
    score "$t" "$t/teacher.ckpt" "$s"
  fi
  for m in dmd sgts phased-4x2 phased-4x4; do
    out=$runs/$task/s$s/$m
    [ -f "$out/eval.json" ] && continue
    case $m in
      phased-*) train "$out" --method phased --preset "${m#phased-}" --teacher "$t/teacher.ckpt" --seed "$s" "${student_set[@]}" ;;
      *) train "$out" --method "$m" --teacher "$t/teacher.ckpt" --seed "$s" "${student_set[@]}" ;;
    esac
    score "$out" "$out/student.ckpt" "$s"
  done
done
