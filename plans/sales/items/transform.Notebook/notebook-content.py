# Fabric notebook source

# METADATA ********************

# META {
# META   "kernel_info": {"name": "synapse_pyspark"},
# META   "dependencies": {"lakehouse": {"default_lakehouse": "{{LAKEHOUSE_ID}}", "default_lakehouse_name": "sales_lake"}}
# META }

# CELL ********************

# Curate the raw sales: one row per order, amounts in EUR.
raw = spark.read.table("raw_sales")
curated = raw.dropDuplicates(["order_id"]).withColumnRenamed("amount", "amount_eur")
curated.write.mode("overwrite").saveAsTable("sales")
