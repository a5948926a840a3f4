# Fabric notebook source
lake = '{{LAKEHOUSE}}'
env = '{{ENV}}'
