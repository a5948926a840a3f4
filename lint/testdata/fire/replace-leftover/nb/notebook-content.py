# Fabric notebook source
lake = "{{LAKE}}"
env = "{{ENV}}"
