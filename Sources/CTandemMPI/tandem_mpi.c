#include "tandem_mpi.h"

#include <mpi.h>
#include <string.h>

int tandem_mpi_init(int *provided) {
  int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, provided);
  if (rc != MPI_SUCCESS) return rc;
  return MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

int tandem_mpi_is_initialized(void) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

int tandem_mpi_finalize(void) { return MPI_Finalize(); }
int tandem_mpi_rank(int *rank) { return MPI_Comm_rank(MPI_COMM_WORLD, rank); }
int tandem_mpi_size(int *size) { return MPI_Comm_size(MPI_COMM_WORLD, size); }
int tandem_mpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }

int tandem_mpi_allreduce_sum_float(float *buffer, int count) {
  return MPI_Allreduce(MPI_IN_PLACE, buffer, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}

int tandem_mpi_allreduce_sum_double(double *buffer, int count) {
  return MPI_Allreduce(MPI_IN_PLACE, buffer, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

int tandem_mpi_allgather_int64(const int64_t *send, int count, int64_t *recv) {
  return MPI_Allgather(send, count, MPI_INT64_T, recv, count, MPI_INT64_T, MPI_COMM_WORLD);
}

int tandem_mpi_allgatherv_float(
    const float *send, int count, float *recv, const int *counts, const int *displacements) {
  return MPI_Allgatherv(
      send, count, MPI_FLOAT, recv, counts, displacements, MPI_FLOAT, MPI_COMM_WORLD);
}

int tandem_mpi_broadcast_bytes(void *buffer, int count, int root) {
  return MPI_Bcast(buffer, count, MPI_BYTE, root, MPI_COMM_WORLD);
}

int tandem_mpi_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
int tandem_mpi_abort(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }

void tandem_mpi_error_string(int code, char *buffer, int length) {
  char text[MPI_MAX_ERROR_STRING];
  int n = 0;
  if (length <= 0) return;
  if (MPI_Error_string(code, text, &n) != MPI_SUCCESS) n = 0;
  if (n >= length) n = length - 1;
  memcpy(buffer, text, (size_t)n);
  buffer[n] = 0;
}

void tandem_mpi_library_version(char *buffer, int length) {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int n = 0;
  if (length <= 0) return;
  if (MPI_Get_library_version(text, &n) != MPI_SUCCESS) n = 0;
  if (n >= length) n = length - 1;
  memcpy(buffer, text, (size_t)n);
  buffer[n] = 0;
}
