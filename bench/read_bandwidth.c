// This machine's streaming read bandwidth, the bound decode speed is measured against: the best of
// several passes summing a 1 GiB buffer (far past the last-level cache) with N OpenMP threads.
// Built and run by bench/generate_decoder.py: cc -O3 -march=native -fopenmp read_bandwidth.c
// usage: read_bandwidth THREADS  -> prints GB/s
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double Now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char** argv) {
  const int threads = argc > 1 ? atoi(argv[1]) : 1;
  const size_t words = (size_t)1 << 27;  // 1 GiB of uint64
  uint64_t* buf = malloc(words * sizeof(uint64_t));
  if (buf == NULL) return 1;
#pragma omp parallel for num_threads(threads)
  for (size_t i = 0; i < words; ++i) buf[i] = i;  // touched by the threads that read it
  double best = 0.0;
  uint64_t total = 0;
  for (int pass = 0; pass < 6; ++pass) {
    const double t0 = Now();
    uint64_t sum = 0;
#pragma omp parallel for reduction(+ : sum) num_threads(threads)
    for (size_t i = 0; i < words; ++i) sum += buf[i];
    const double gbps = (double)(words * sizeof(uint64_t)) / (Now() - t0) / 1e9;
    if (gbps > best) best = gbps;
    total += sum;
  }
  printf("%.2f\n", best);
  fprintf(stderr, "[checksum %llu]\n", (unsigned long long)(total % 1000));
  free(buf);
  return 0;
}
