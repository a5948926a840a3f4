# Fabric notebook source

# METADATA ********************

# META {
# META   "dependencies": {
# META     "lakehouse": {
# META       "default_lakehouse": "11111111-aaaa-4bbb-8ccc-000000000001",
# META       "default_lakehouse_workspace_id": "8f5c0cec-a8ea-48cd-9da4-871dc2642f4c"
# META     }
# META   }
# META }

# CELL ********************

server = "dev-sql.example.com"
