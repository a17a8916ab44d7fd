#ifndef TANDEM_MPI_SHIMS_H
#define TANDEM_MPI_SHIMS_H

#include <stdint.h>

/* Typed entry points over MPI for Swift: Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM,
   MPI_IN_PLACE) are macros, so they are named here, in C. Every function works on
   MPI_COMM_WORLD and returns an MPI error code (MPI_SUCCESS = 0): the world communicator's
   error handler is set to MPI_ERRORS_RETURN by tandem_mpi_init. */

/* MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED) + MPI_ERRORS_RETURN on the world; the
   thread level provided is stored in *provided (0 single … 3 multiple). */
int tandem_mpi_init(int *provided);
/* 1 when MPI_Init has run (and MPI_Finalize has not), else 0. */
int tandem_mpi_is_initialized(void);
int tandem_mpi_finalize(void);
int tandem_mpi_rank(int *rank);
int tandem_mpi_size(int *size);
/* The level constant MPI_THREAD_SERIALIZED, to compare with *provided. */
int tandem_mpi_thread_serialized(void);

/* In place, element-wise sum over all ranks. */
int tandem_mpi_allreduce_sum_float(float *buffer, int count);
int tandem_mpi_allreduce_sum_double(double *buffer, int count);
/* Every rank sends `count` values; recv holds count × size values, rank-major. */
int tandem_mpi_allgather_int64(const int64_t *send, int count, int64_t *recv);
/* Rank r sends counts[r] floats; recv holds them at displacements[r]. */
int tandem_mpi_allgatherv_float(
    const float *send, int count, float *recv, const int *counts, const int *displacements);
int tandem_mpi_broadcast_bytes(void *buffer, int count, int root);
int tandem_mpi_barrier(void);
int tandem_mpi_abort(int code);

/* MPI_Error_string into buffer (NUL-terminated, at most length bytes). */
void tandem_mpi_error_string(int code, char *buffer, int length);
/* MPI_Get_library_version into buffer (NUL-terminated, at most length bytes). */
void tandem_mpi_library_version(char *buffer, int length);

#endif
