"""h5py: HDF5 read and written by the HDF5 C library."""

if __name__ == "__main__":
    import h5py

    with h5py.File("data/in.h5", "r") as f:
        a = f["a"][:]
    with h5py.File("out/out.h5", "w") as f:
        f["a"] = a * 2
