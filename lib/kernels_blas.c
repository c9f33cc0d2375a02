/*
 * kernels_blas.c - the one file that talks to OpenBLAS.
 */
#include <cblas.h>

#include "kernels.h"

void blas_sgemm_nt(int m, int n, int k, const float *a, int lda,
                   const float *b, int ldb, float *c, int ldc)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a,
	            lda, b, ldb, 0.0f, c, ldc);
}

void blas_sgemm_nn(int m, int n, int k, const float *a, int lda,
                   const float *b, int ldb, float *c, int ldc)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a,
	            lda, b, ldb, 0.0f, c, ldc);
}

void blas_init(void)
{
	/* Our pool splits the work; nested OpenBLAS threads would fight it. */
	openblas_set_num_threads(1);
}
