# Fabric notebook source
lake = "{{LAKE}}"
run = "{{RUN_ID}}"
