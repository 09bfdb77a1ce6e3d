"""pyarrow.parquet read_table and write_table, and pyarrow's own CSV reader."""

if __name__ == "__main__":
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pq.read_table("data/in.parquet")
    pacsv.read_csv("data/in.csv")
    pq.write_table(table, "out/pyarrow.parquet")
