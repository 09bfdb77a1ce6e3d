"""pandas read_parquet and to_parquet (pyarrow opens the files in C++)."""

if __name__ == "__main__":
    import pandas as pd

    df = pd.read_parquet("data/in.parquet")
    df.assign(b=df.a * 2).to_parquet("out/pandas.parquet")
