#ifndef TANDEM_CMPI_SHIM_H
#define TANDEM_CMPI_SHIM_H
/* Open MPI (Debian libopenmpi-dev, pkg-config ompi-c). Swift never calls these directly: the
   handles (MPI_COMM_WORLD, MPI_FLOAT, …) are macros over global structs in Open MPI, so every
   call goes through the typed functions of CTandemMPI. */
#include <mpi.h>
#endif
