set -e
cd "$(git rev-parse --show-toplevel)"
export OMP_NUM_THREADS=1
P="nice -n 19 node bin/phased-dmd.js"
v() { name=$1; shift; c=$1; shift
  S=$(date +%s)
  $P run pipelines/configs/$c.json "$@" --out runs/$name > runs/$name.log 2>&1
  echo "$name $(( $(date +%s) - S )) s"
  $P sample --model runs/$name/student.ckpt --n 5000 --seed 7 --out runs/$name.npy > /dev/null
  $P eval --samples runs/$name.npy --reference runs/g25-teacher.npy --mixture grid25 > runs/$name.eval.json
  python3 -c "import json; d=json.load(open('runs/$name.eval.json')); print('$name', d['mixture'])"
}
v g44-g1 phased-4x4-grid25 --set schedule.defaults.guidance=1
v g42-g1 phased-4x2-grid25 --set schedule.defaults.guidance=1
v g44-g1-s1 phased-4x4-grid25 --set schedule.defaults.guidance=1 --set schedule.shift=1
v g44-g2 phased-4x4-grid25 --set schedule.defaults.guidance=2
v g42-g1-s1 phased-4x2-grid25 --set schedule.defaults.guidance=1 --set schedule.shift=1
echo done
