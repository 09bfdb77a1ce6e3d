"""numpy load, save, fromfile and memmap."""

if __name__ == "__main__":
    import numpy as np

    a = np.load("data/in.npy")
    m = np.memmap("data/in.bin", dtype="float64", mode="r")
    total = a + m[: len(a)]
    np.save("out/numpy.npy", total)
    w = np.memmap("out/numpy.bin", dtype="float64", mode="w+", shape=total.shape)
    w[:] = total
    w.flush()
    del w
