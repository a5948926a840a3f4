# Fabric notebook source

# METADATA ********************

# META {
# META   "kernel_info": {
# META     "name": "synapse_pyspark"
# META   }
# META }

# CELL ********************

# Load the daily sales extract into the lakehouse's raw table.
df = spark.read.option("header", True).csv("Files/landing/sales/*.csv")
df.write.mode("append").saveAsTable("{{LAKEHOUSE}}.raw_sales")

# METADATA ********************

# META {
# META   "language": "python",
# META   "language_group": "synapse_pyspark"
# META }
