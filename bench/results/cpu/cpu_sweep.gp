# fusedopt bench: effective GB/s against parameter count, cpu, AdamW (28 bytes/param).
# Regenerate: gnuplot cpu_sweep.gp (in this directory)
if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) { set terminal pngcairo size 1100,700 } else { set terminal png size 1100,700 }
set output 'cpu_sweep.png'
set title 'fusedopt cpu: AdamW step, effective GB/s vs size (dashed: bandwidth loop, same run)'
set logscale x
set xlabel 'parameters'
set ylabel 'GB/s (28 bytes/param)'
set key outside right
set grid
set yrange [0:*]
titles = 'bandwidth-1t fused-1t fused-bf16-1t unfused-1t bandwidth-2t fused-2t fused-bf16-2t'
dashes = '2 1 1 1 2 1 1'
plot for [i=0:6] 'cpu_sweep.dat' index i using 1:2 with linespoints dashtype int(word(dashes, i+1)) linewidth 2 title word(titles, i+1)
