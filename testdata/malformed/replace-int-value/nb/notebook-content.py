# Fabric notebook source
n = {{N}}
