# Fabric notebook source
lake = '{{LAKEHOUSE}}'
