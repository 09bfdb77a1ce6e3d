"""polars: CSV and Parquet read and written in Rust."""

if __name__ == "__main__":
    import polars as pl

    df = pl.read_csv("data/in.csv")
    pl.read_parquet("data/in.parquet")
    df.write_parquet("out/polars.parquet")
