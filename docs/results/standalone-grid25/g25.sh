set -e
cd "$(git rev-parse --show-toplevel)"
export OMP_NUM_THREADS=1
P="nice -n 19 node bin/phased-dmd.js"
S=$(date +%s)
$P run pipelines/configs/teacher-grid25.json --out runs/teacher-grid25
echo "teacher $(( $(date +%s) - S )) s"
$P sample --model runs/teacher-grid25/teacher.ckpt --n 5000 --seed 7 --out runs/g25-teacher.npy
for c in phased-4x2-grid25 phased-4x4-grid25; do
  S=$(date +%s)
  $P run pipelines/configs/$c.json --out runs/$c
  echo "$c $(( $(date +%s) - S )) s"
  $P sample --model runs/$c/student.ckpt --n 5000 --seed 7 --out runs/$c.npy
  $P eval --samples runs/$c.npy --reference runs/g25-teacher.npy --mixture grid25 > runs/$c.eval.json
done
$P sample --model runs/teacher-grid25/teacher.ckpt --n 5000 --seed 8 --out runs/g25-teacher2.npy
$P eval --samples runs/g25-teacher2.npy --reference runs/g25-teacher.npy --mixture grid25 > runs/g25-teacher.eval.json
echo done
