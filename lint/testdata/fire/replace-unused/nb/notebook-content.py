# Fabric notebook source
lake = "{{LAKE}}"
