"""zipfile and tarfile."""

import tarfile
import zipfile

if __name__ == "__main__":
    with zipfile.ZipFile("data/in.zip") as z:
        data = z.read("a.txt")
    with tarfile.open("out/out.tar.gz", "w:gz") as t:
        t.add("data/in.txt", arcname="in.txt")
    with zipfile.ZipFile("out/out.zip", "w") as z:
        z.writestr("a.txt", data)
